"""``Runner``: every form of ``app_src``, input forms, validation before and after the app, finalising,
log capture (per analysis, also across threads) and monitor messages."""

from __future__ import annotations

import importlib.util
import json
import logging
import textwrap
import threading
import uuid

import pytest

from plait.exceptions import (
    InvalidIdentifierException,
    InvalidInputException,
    InvalidManifestContents,
    InvalidValuesContents,
    MissingCredential,
)
from plait.resources import Datafile
from plait.resources.analysis import Analysis
from plait.resources.manifest import Manifest
from plait.runner import Runner

TWINE = {
    "configuration_values_schema": {
        "type": "object",
        "properties": {"factor": {"type": "number"}},
        "required": ["factor"],
    },
    "input_values_schema": {
        "type": "object",
        "properties": {"x": {"type": "number"}},
        "required": ["x"],
        "additionalProperties": False,
    },
    "output_values_schema": {
        "type": "object",
        "properties": {"y": {"type": "number"}},
        "required": ["y"],
    },
}

CONFIGURATION = {"factor": 3}

APP_MODULE_SOURCE = """
def run(analysis):
    analysis.output_values = {"y": analysis.input_values["x"] * analysis.configuration_values["factor"]}
"""

APP_CLASS_MODULE_SOURCE = """
class App:
    def __init__(self, analysis):
        self.analysis = analysis

    def run(self):
        self.analysis.output_values = {"y": -self.analysis.input_values["x"]}
"""


def multiply(analysis):
    analysis.output_values = {"y": analysis.input_values["x"] * analysis.configuration_values["factor"]}


class Multiplier:
    def __init__(self, analysis):
        self.analysis = analysis

    def run(self):
        multiply(self.analysis)


def make_runner(app_src=multiply, twine=TWINE, **kwargs) -> Runner:
    kwargs.setdefault("configuration_values", CONFIGURATION)
    return Runner(app_src=app_src, twine=twine, **kwargs)


def write_app(directory, source=APP_MODULE_SOURCE, filename="app.py"):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(textwrap.dedent(source))
    return path


# -- app_src forms --


def test_app_src_can_be_a_function():
    analysis = make_runner(multiply).run(input_values={"x": 2})
    assert analysis.output_values == {"y": 6}


def test_app_src_can_be_a_class_made_with_the_analysis_and_having_a_run_method():
    analysis = make_runner(Multiplier).run(input_values={"x": 5})
    assert analysis.output_values == {"y": 15}


def test_app_src_can_be_a_module_object_with_a_run_function(tmp_path):
    path = write_app(tmp_path / "module_app", filename="module_app_for_runner.py")
    spec = importlib.util.spec_from_file_location("module_app_for_runner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    analysis = make_runner(module).run(input_values={"x": 4})
    assert analysis.output_values == {"y": 12}


def test_app_src_can_be_a_directory_containing_app_py(tmp_path):
    directory = tmp_path / "my-service"
    write_app(directory)

    assert make_runner(str(directory)).run(input_values={"x": 1}).output_values == {"y": 3}
    assert make_runner(directory).run(input_values={"x": 2}).output_values == {"y": 6}  # os.PathLike too


def test_app_src_can_be_a_path_to_a_python_file(tmp_path):
    path = write_app(tmp_path / "service", filename="analysis_code.py")
    assert make_runner(str(path)).run(input_values={"x": 7}).output_values == {"y": 21}


def test_an_app_module_may_hold_an_app_class_instead_of_a_run_function(tmp_path):
    directory = tmp_path / "class-service"
    write_app(directory, APP_CLASS_MODULE_SOURCE)
    assert make_runner(str(directory)).run(input_values={"x": 7}).output_values == {"y": -7}


def test_an_app_directory_can_import_modules_beside_app_py(tmp_path):
    directory = tmp_path / "helper-service"
    helper = f"helper_{uuid.uuid4().hex}"
    write_app(directory, "FACTOR = 10\n", filename=f"{helper}.py")
    write_app(
        directory,
        f"import {helper}\n\ndef run(analysis):\n    analysis.output_values = {{'y': {helper}.FACTOR}}\n",
    )
    assert make_runner(str(directory)).run(input_values={"x": 0}).output_values == {"y": 10}


@pytest.mark.parametrize("app_src", [42, None, ["not", "a", "function"]])
def test_an_app_src_of_no_accepted_form_is_rejected_with_a_helpful_message(app_src):
    with pytest.raises(InvalidInputException, match="app_src must be a function, a class with a run"):
        make_runner(app_src)


def test_a_class_without_a_run_method_is_rejected():
    class NoRun:
        def __init__(self, analysis):
            pass

    with pytest.raises(InvalidInputException, match="NoRun has no run"):
        make_runner(NoRun)


def test_a_module_without_run_or_app_is_rejected(tmp_path):
    directory = tmp_path / "empty-service"
    write_app(directory, "VALUE = 1\n")
    with pytest.raises(InvalidInputException, match=r"no run\(analysis\) function and no App class"):
        make_runner(str(directory))


def test_a_directory_without_app_py_is_rejected_naming_the_directory(tmp_path):
    directory = tmp_path / "no-app-here"
    directory.mkdir()
    with pytest.raises(InvalidInputException, match=r"No app found at .*no-app-here.*app\.py"):
        make_runner(str(directory))


def test_an_app_that_fails_to_import_raises_its_error(tmp_path):
    directory = tmp_path / "broken-service"
    write_app(directory, "raise RuntimeError('broken import')\n")
    with pytest.raises(RuntimeError, match="broken import"):
        make_runner(str(directory))


# -- inputs --


def test_input_values_may_be_a_dict_a_json_string_or_a_path_to_a_json_file(tmp_path):
    path = tmp_path / "input_values.json"
    path.write_text(json.dumps({"x": 3}))
    runner = make_runner()

    assert runner.run(input_values={"x": 3}).output_values == {"y": 9}
    assert runner.run(input_values='{"x": 3}').output_values == {"y": 9}
    assert runner.run(input_values=str(path)).output_values == {"y": 9}


def test_configuration_values_may_be_a_json_string_or_a_path_to_a_json_file(tmp_path):
    path = tmp_path / "configuration_values.json"
    path.write_text(json.dumps({"factor": 5}))

    assert make_runner(configuration_values='{"factor": 2}').run(input_values={"x": 1}).output_values == {"y": 2}
    assert make_runner(configuration_values=str(path)).run(input_values={"x": 1}).output_values == {"y": 5}


def test_invalid_input_values_are_rejected_before_the_app_runs():
    calls = []
    runner = make_runner(lambda analysis: calls.append(analysis))

    with pytest.raises(InvalidValuesContents, match=r"input_values: \$\.x") as error:
        runner.run(input_values={"x": "three"})

    assert error.value.strand == "input_values"
    assert calls == []


def test_missing_required_input_values_are_rejected_before_the_app_runs():
    calls = []
    runner = make_runner(lambda analysis: calls.append(analysis))
    with pytest.raises(InvalidValuesContents, match="input_values"):
        runner.run()
    assert calls == []


def test_an_invalid_input_manifest_is_rejected_before_the_app_runs(tmp_path):
    twine = {"input_manifest": {"datasets": {"met_mast": {"purpose": "measurements"}}}}
    calls = []
    runner = Runner(app_src=lambda analysis: calls.append(analysis), twine=twine)
    with pytest.raises(InvalidManifestContents, match="met_mast"):
        runner.run(input_manifest={"datasets": {"other": str(tmp_path)}})
    assert calls == []


def test_invalid_configuration_values_are_rejected_when_the_runner_is_made():
    with pytest.raises(InvalidValuesContents, match=r"configuration_values: \$\.factor"):
        make_runner(configuration_values={"factor": "big"})


def test_missing_configuration_values_are_rejected_when_the_runner_is_made():
    with pytest.raises(InvalidValuesContents, match="configuration_values"):
        Runner(app_src=multiply, twine=TWINE)


def test_a_missing_credential_is_reported_by_name_when_the_runner_is_made(monkeypatch):
    twine = {"credentials": [{"name": "PLAIT_TEST_SECRET_TOKEN", "purpose": "talking to an API"}]}
    monkeypatch.delenv("PLAIT_TEST_SECRET_TOKEN", raising=False)

    with pytest.raises(MissingCredential, match="PLAIT_TEST_SECRET_TOKEN") as error:
        Runner(app_src=multiply, twine=twine)
    assert error.value.names == ("PLAIT_TEST_SECRET_TOKEN",)

    monkeypatch.setenv("PLAIT_TEST_SECRET_TOKEN", "s3cret")
    assert Runner(app_src=multiply, twine=twine).credentials == {"PLAIT_TEST_SECRET_TOKEN": "s3cret"}


def test_the_twine_may_be_a_path_to_a_twine_file(tmp_path):
    path = tmp_path / "twine.json"
    path.write_text(json.dumps(TWINE))
    assert make_runner(twine=str(path)).run(input_values={"x": 1}).output_values == {"y": 3}


# -- outputs and finalising --


def test_invalid_output_values_are_rejected_after_the_app_has_run():
    calls = []

    def app(analysis):
        calls.append(analysis)
        analysis.output_values = {"y": "not a number"}

    with pytest.raises(InvalidValuesContents, match=r"output_values: \$\.y") as error:
        make_runner(app).run(input_values={"x": 1})
    assert len(calls) == 1
    assert error.value.strand == "output_values"


def test_an_app_that_does_not_finalise_is_finalised_by_the_runner():
    analysis = make_runner().run(input_values={"x": 1})
    assert analysis.finalised


def test_an_app_that_finalises_itself_is_not_finalised_again(monkeypatch):
    calls = []
    original = Analysis.finalise

    def counting_finalise(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Analysis, "finalise", counting_finalise)

    def app(analysis):
        multiply(analysis)
        analysis.finalise()

    analysis = make_runner(app).run(input_values={"x": 1})
    assert analysis.finalised
    assert calls == [()]


def test_the_output_manifest_has_an_empty_dataset_per_output_key_ready_for_files(tmp_path):
    twine = {
        "output_manifest": {
            "datasets": {"results": {"purpose": "results"}, "figures": {"purpose": "figures", "optional": True}}
        }
    }
    seen = {}

    def app(analysis):
        seen["keys"] = sorted(analysis.output_manifest.datasets)
        seen["sizes"] = {key: len(dataset.files) for key, dataset in analysis.output_manifest.datasets.items()}
        results = analysis.output_manifest.get_dataset("results")
        with Datafile(f"{results.path}/out.txt", mode="w", tags={"kind": "text"}) as (datafile, file):
            file.write("hello")
        results.add(datafile)

    analysis = Runner(app_src=app, twine=twine).run()

    assert seen == {"keys": ["figures", "results"], "sizes": {"figures": 0, "results": 0}}
    assert isinstance(analysis.output_manifest, Manifest)
    assert [file.name for file in analysis.output_manifest.get_dataset("results").files] == ["out.txt"]


def test_there_is_no_output_manifest_when_the_twine_has_no_output_manifest_strand():
    assert make_runner().run(input_values={"x": 1}).output_manifest is None


def test_output_datasets_are_stored_in_the_output_location(tmp_path):
    twine = {"output_manifest": {"datasets": {"results": {"purpose": "results"}}}}

    def app(analysis):
        results = analysis.output_manifest.get_dataset("results")
        with Datafile(f"{results.path}/out.txt", mode="w") as (datafile, file):
            file.write("hello")
        results.add(datafile)

    analysis = Runner(app_src=app, twine=twine, output_location=str(tmp_path)).run()
    stored = tmp_path / analysis.id / "results" / "out.txt"
    assert stored.read_text() == "hello"
    assert analysis.output_manifest.get_dataset("results").path == str(tmp_path / analysis.id / "results")


# -- analysis ids --


def test_the_analysis_id_given_is_used():
    analysis_id = str(uuid.uuid4())
    assert make_runner().run(analysis_id=analysis_id, input_values={"x": 1}).id == analysis_id


def test_an_analysis_id_is_generated_when_none_is_given():
    first = make_runner().run(input_values={"x": 1}).id
    second = make_runner().run(input_values={"x": 1}).id
    assert uuid.UUID(first) and uuid.UUID(second) and first != second


def test_an_invalid_analysis_id_is_rejected_before_the_app_runs():
    calls = []
    with pytest.raises(InvalidIdentifierException):
        make_runner(lambda analysis: calls.append(analysis)).run(analysis_id="not-a-uuid", input_values={"x": 1})
    assert calls == []


# -- logs --


class ListHandler(logging.Handler):
    def __init__(self, level=logging.NOTSET):
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


app_logger = logging.getLogger("tests.runner_app")


def logging_app(analysis):
    app_logger.debug("debug from the app")
    app_logger.info("info from the app")
    app_logger.warning("warning from the app")
    multiply(analysis)


def test_the_log_handler_receives_the_apps_records_at_and_above_the_log_level():
    handler = ListHandler()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level=logging.INFO, analysis_log_handler=handler)
    assert "info from the app" in handler.messages
    assert "warning from the app" in handler.messages
    assert "debug from the app" not in handler.messages


def test_the_log_level_may_be_lowered_to_debug():
    handler = ListHandler()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level=logging.DEBUG, analysis_log_handler=handler)
    assert "debug from the app" in handler.messages


def test_the_log_level_may_be_given_by_name():
    handler = ListHandler()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level="WARNING", analysis_log_handler=handler)
    assert handler.messages == ["warning from the app"]


def test_the_log_handler_receives_nothing_after_the_analysis_ends():
    handler = ListHandler()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_handler=handler)
    count = len(handler.records)
    app_logger.warning("after the analysis")
    assert len(handler.records) == count
    assert handler not in logging.getLogger().handlers


def test_the_root_log_level_is_restored_after_an_analysis():
    root = logging.getLogger()
    before = root.level
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level=logging.DEBUG)
    assert root.level == before


def test_concurrent_analyses_in_two_threads_each_get_only_their_own_logs():
    barrier = threading.Barrier(2, timeout=10)

    def app(analysis):
        tag = analysis.input_values["x"]
        for step in range(5):
            app_logger.info("analysis %s step %s", tag, step)
            if step == 1:
                barrier.wait()  # both analyses are logging at the same time
        multiply(analysis)

    runner = make_runner(app)
    handlers = {1: ListHandler(), 2: ListHandler()}
    errors = []

    def run(tag):
        try:
            runner.run(input_values={"x": tag}, analysis_log_handler=handlers[tag])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(tag,)) for tag in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    for tag, handler in handlers.items():
        own = [message for message in handler.messages if message.startswith("analysis ")]
        assert own == [f"analysis {tag} step {step}" for step in range(5)]


def test_one_handler_shared_by_two_concurrent_analyses_receives_the_logs_of_both():
    barrier = threading.Barrier(2, timeout=10)

    def app(analysis):
        app_logger.info("analysis %s before", analysis.input_values["x"])
        barrier.wait()  # both analyses are running
        app_logger.info("analysis %s during", analysis.input_values["x"])
        barrier.wait()
        multiply(analysis)

    runner = make_runner(app)
    shared = ListHandler()
    threads = [
        threading.Thread(target=runner.run, kwargs={"input_values": {"x": tag}, "analysis_log_handler": shared})
        for tag in (1, 2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    own = sorted(message for message in shared.messages if message.startswith("analysis "))
    assert own == ["analysis 1 before", "analysis 1 during", "analysis 2 before", "analysis 2 during"]


def test_the_log_handler_given_is_not_changed_by_the_run():
    handler = ListHandler()
    make_runner(logging_app).run(
        input_values={"x": 1}, analysis_log_level=logging.WARNING, analysis_log_handler=handler
    )
    assert handler.level == logging.NOTSET
    assert handler.filters == []

    # So the same handler can be used again at a lower level.
    handler.records.clear()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level=logging.DEBUG, analysis_log_handler=handler)
    assert "debug from the app" in handler.messages


def test_the_log_handlers_own_level_is_respected():
    handler = ListHandler(level=logging.WARNING)
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_level=logging.DEBUG, analysis_log_handler=handler)
    assert handler.messages == ["warning from the app"]


def test_an_invalid_log_level_is_rejected_before_the_app_runs_and_leaves_logging_as_it_was():
    calls = []
    root_level = logging.getLogger().level
    with pytest.raises(InvalidInputException, match="not a log level"):
        make_runner(lambda analysis: calls.append(analysis)).run(input_values={"x": 1}, analysis_log_level="LOUD")
    assert calls == []
    assert logging.getLogger().level == root_level

    handler = ListHandler()
    make_runner(logging_app).run(input_values={"x": 1}, analysis_log_handler=handler)
    assert "info from the app" in handler.messages


# -- monitor messages --


def test_handle_monitor_message_receives_the_apps_monitor_messages():
    received = []

    def app(analysis):
        analysis.send_monitor_message({"progress": 0.5})
        analysis.send_monitor_message({"progress": 1.0})
        multiply(analysis)

    make_runner(app).run(input_values={"x": 1}, handle_monitor_message=received.append)
    assert received == [{"progress": 0.5}, {"progress": 1.0}]


def test_the_app_gets_the_children_by_key_as_child_instances():
    from plait.resources.child import Child

    twine = {"children": [{"key": "wind_speed", "purpose": "wind speeds"}]}
    children = [{"key": "wind_speed", "id": "example/wind-speed:1.0.0", "backend": {"name": "LocalBackend"}}]
    seen = {}
    Runner(app_src=lambda analysis: seen.update(analysis.children), twine=twine, children=children).run()
    assert list(seen) == ["wind_speed"]
    assert isinstance(seen["wind_speed"], Child)
    assert seen["wind_speed"].id == "example/wind-speed:1.0.0"
    assert seen["wind_speed"].backend == {"name": "LocalBackend"}


def test_a_child_with_an_unknown_backend_is_refused_when_the_runner_is_made():
    twine = {"children": [{"key": "wind_speed"}]}
    children = [{"key": "wind_speed", "id": "example/wind-speed:1.0.0", "backend": {"name": "carrier-pigeon"}}]
    with pytest.raises(InvalidInputException, match="GCPPubSubBackend"):
        Runner(app_src=lambda analysis: None, twine=twine, children=children)
