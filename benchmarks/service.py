"""Service-protocol measurements against DESIGN.md's targets (measured and printed, not asserted).

    python benchmarks/service.py            # everything, about two minutes
    python benchmarks/service.py --quick    # fewer questions and runs, under a minute
    python benchmarks/service.py --only intake,imports

1. Question intake throughput in process (target: at least 2,000 questions/s): ``handle_question``
   called directly with pre-built ``PubSubDelivery`` objects, each a distinct valid question for a
   trivial values-only service, with a ``LocalBus`` that has no push endpoints as the transport:
   (a) with the real ``QuestionStore`` against the embedded storage emulator, and (b) with the
   question store's persistence kept in memory (a stand-in written here, see ``MemoryQuestionStore``).
   The in-memory case is also profiled (cProfile, top functions by cumulative time).
2. Local question round trip, ask -> result, p50/p95/max of 200 questions after 10 warm-up ones
   (targets: p50 at most 50 ms in process, 150 ms over HTTP), for the same trivial service served
   by ``LocalStack(mode="in_process")`` and by ``LocalStack(mode="http")``.
3. Import times, each in a fresh interpreter (best of several): ``import plait.resources`` (target:
   at most 100 ms), and what each function module adds to importing functions-framework and the
   google clients its first request will need (target: at most 100 ms).
4. Signed URLs for a 1,000-file dataset in the embedded storage emulator (target: at most 1 s),
   signed with a throwaway service-account key (``--quick`` signs 250 files and extrapolates); and,
   for diagnosis, the same with the signing key loaded once (a patch made only inside this benchmark).

Each figure is the best of several runs (or a percentile of many), to measure the code rather than
the machine's noise. Everything runs in temporary directories and in-process emulators, which are
removed, and environment variables set here are restored, when the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from plait.cloud.emulators.storage import StorageEmulator
from plait.cloud.events import PARENT, ServiceRevision, encode_event, make_attributes
from plait.cloud.events.eventarc import PubSubDelivery
from plait.cloud.questions import QuestionStore
from plait.cloud.service.context import ServiceContext
from plait.cloud.service.intake import handle_question
from plait.cloud.service.settings import ServiceSettings
from plait.cloud.transport.local import LocalBus
from plait.hashing import canonical_json

INTAKE_TARGET = 2_000  # questions/s
ROUND_TRIP_TARGETS = {"in_process": 0.050, "http": 0.150}  # p50, seconds
RESOURCES_IMPORT_TARGET = 0.100  # seconds
FUNCTION_IMPORT_TARGET = 0.100  # seconds added
SIGNED_URLS_TARGET = 1.0  # seconds

SERVICE_BUCKET = "plait-benchmark-service"
DATASETS_BUCKET = "plait-benchmark-datasets"
SECTIONS = ("intake", "round-trip", "imports", "signed-urls")

# -- a trivial values-only service --

PLAIT_YAML = """\
services:
  - name: echo
    namespace: benchmark
"""

TWINE = {
    "input_values_schema": {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0}},
        "required": ["n"],
        "additionalProperties": False,
    },
    "output_values_schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
}

APP = '''\
"""Echo the question's number back: the trivial app of the service benchmarks."""


def run(analysis):
    analysis.output_values = {"n": analysis.input_values["n"]}
'''


def make_service_directory(directory: str) -> str:
    service_directory = os.path.join(directory, "echo-service")
    os.makedirs(service_directory)
    with open(os.path.join(service_directory, "plait.yaml"), "w") as file:
        file.write(PLAIT_YAML)
    with open(os.path.join(service_directory, "twine.json"), "w") as file:
        json.dump(TWINE, file)
    with open(os.path.join(service_directory, "app.py"), "w") as file:
        file.write(APP)
    return service_directory


# -- helpers --


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def best_of(repeats: int, function: Callable[[int], object]) -> float:
    """The shortest of ``repeats`` runs of ``function(run_index)``, in seconds."""
    times = []
    for run in range(repeats):
        start = time.perf_counter()
        function(run)
        times.append(time.perf_counter() - start)
    return min(times)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile by the nearest-rank method (the p95 of 200 is the 190th fastest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def verdict(meets: bool) -> str:
    return "meets" if meets else "MISSES"


# -- 1. question intake --


class MemoryQuestionStore(QuestionStore):
    """The question store with its persistence in a dict instead of GCS: a benchmark stand-in.

    ``QuestionStore`` keeps everything GCS-specific in four private methods (``_read``,
    ``_write``, ``_delete``, ``_exists``) but takes no persistence backend, so this overrides
    them. Writes honour ``if_generation_match`` (0: only if absent) under a lock, as GCS
    preconditions do, and documents are still serialised with ``canonical_json`` so that cost is
    counted. The GCS client the base class makes is never used (it connects lazily, so it costs nothing).

    What would make a proper in-memory backend possible (a change to ``plait/cloud/questions/store.py``,
    not made here): give ``QuestionStore`` a ``persistence`` parameter, an object with the four
    operations (``read(path) -> (document, generation) | None``, ``write(path, document,
    if_generation_match) -> generation | None``, ``delete(path, if_generation_match)``,
    ``exists(path)``), defaulting to a GCS implementation made from the bucket; ``Claim.renew`` and
    ``release`` would call it instead of the store's private methods. A memory backend (for tests,
    benchmarks and a faster local stack) would then be a public class, not a subclass of private API.
    """

    def __init__(self, bucket_name: str, **kwargs: Any) -> None:
        super().__init__(bucket_name, **kwargs)
        self._objects: dict[str, tuple[str, int]] = {}
        self._objects_lock = threading.Lock()
        self._generations = itertools.count(1)

    def _read(self, path: str) -> tuple[dict[str, Any], int] | None:
        with self._objects_lock:
            found = self._objects.get(path)
        return (json.loads(found[0]), found[1]) if found else None

    def _write(self, path: str, document: dict[str, Any], if_generation_match: int) -> int | None:
        text = canonical_json(document)
        with self._objects_lock:
            current = self._objects.get(path)
            if (current[1] if current else 0) != if_generation_match:
                return None
            generation = next(self._generations)
            self._objects[path] = (text, generation)
            return generation

    def _delete(self, path: str, if_generation_match: int) -> None:
        with self._objects_lock:
            current = self._objects.get(path)
            if current is not None and current[1] == if_generation_match:
                del self._objects[path]

    def _exists(self, path: str) -> bool:
        with self._objects_lock:
            return path in self._objects


def make_deliveries(revision: ServiceRevision, count: int) -> list[PubSubDelivery]:
    """Distinct valid questions, as the questions topic's push subscription delivers them."""
    deliveries = []
    for index in range(count):
        question_uuid = str(uuid.uuid4())
        attributes = make_attributes(
            kind="question",
            question_uuid=question_uuid,
            sender="benchmark/parent",
            sender_type=PARENT,
            recipient=revision.sruid,
            reply_to=revision.answers_topic,
        )
        event = {
            "kind": "question",
            "input_values": {"n": index},
            "input_manifest": None,
            "children": None,
            "forward_logs": False,
            "save_diagnostics": "SAVE_DIAGNOSTICS_OFF",
            "log_level": "INFO",
        }
        deliveries.append(
            PubSubDelivery(
                data=encode_event(event, attributes),
                attributes=attributes,
                message_id=str(index + 1),
                topic=revision.questions_topic,
                subscription="question-intake",
                ordering_key=question_uuid,
            )
        )
    return deliveries


def intake_rate(context: ServiceContext, revision: ServiceRevision, count: int, repeats: int) -> float:
    """The best rate (questions/s) of ``repeats`` runs of ``count`` distinct questions."""
    runs = [make_deliveries(revision, count) for _ in range(repeats)]
    for delivery in make_deliveries(revision, 20):  # warm up: twine, schemas, the storage client
        handle_question(delivery, context)

    def run(index: int) -> None:
        for delivery in runs[index]:
            outcome = handle_question(delivery, context)
            if outcome.action != "dispatched":
                raise RuntimeError(f"The benchmark's question was not dispatched: {outcome}")

    return count / best_of(repeats, run)


#: Stages of ``handle_question``: (label, [(file suffix, function name), ...]) whose cumulative times add up.
INTAKE_STAGES = (
    ("decode + validate the event", [("events/messages.py", "decode_event")]),
    ("twine validation", [("twine/twine.py", "validate_values"), ("twine/twine.py", "validate_manifest")]),
    ("record_question", [("questions/store.py", "record_question")]),
    (
        "delivery acknowledgement (EventPublisher: make, validate, start its thread, flush, join)",
        [
            ("events/publisher.py", "__init__"),
            ("events/publisher.py", "delivery_acknowledgement"),
            ("events/publisher.py", "flush"),
            ("events/publisher.py", "close"),
        ],
    ),
    ("dispatch (LocalBus.publish)", [("transport/local.py", "publish")]),
)


def profile_intake(context: ServiceContext, revision: ServiceRevision, count: int) -> None:
    deliveries = make_deliveries(revision, count)
    profiler = cProfile.Profile()
    profiler.enable()
    for delivery in deliveries:
        handle_question(delivery, context)
    profiler.disable()

    entries = pstats.Stats(profiler).stats  # (file, line, name) -> (primitive calls, calls, own, cumulative, callers)
    total = sum(value[3] for (_, _, name), value in entries.items() if name == "handle_question")

    def where(filename: str, line: int, name: str) -> str:
        return name if filename == "~" else f"{_short_path(filename)}:{line} {name}"

    print(
        f"   profile of {count:,} in-memory intakes (cProfile, main thread; it inflates Python-heavy parts):"
        f" {total / count * 1000:.2f} ms per question under the profiler"
    )
    print("   where it goes (share of handle_question's cumulative time):")
    accounted = 0.0
    for label, functions in INTAKE_STAGES:
        seconds = sum(
            value[3]
            for (filename, _, name), value in entries.items()
            if any(filename.endswith(suffix) and name == function for suffix, function in functions)
        )
        accounted += seconds
        print(f"   {seconds / total:6.1%}  {label}")
    print(f"   {1 - accounted / total:6.1%}  the rest (handle_question itself, Outcome, logging)")
    print("   top 10 by cumulative time:")
    print(f"   {'cumulative':>10}  {'share':>6}  {'calls':>7}  function")
    rows = sorted(entries.items(), key=lambda item: item[1][3], reverse=True)
    for (filename, line, name), (_, calls, _, cumulative, _) in [
        row for row in rows if not row[0][2].startswith("<method 'disable'")
    ][:10]:
        print(f"   {cumulative * 1000:7.0f} ms  {cumulative / total:6.1%}  {calls:7,}  {where(filename, line, name)}")
    print("   top 5 by own time:")
    for (filename, line, name), (_, calls, own, _, _) in sorted(entries.items(), key=lambda item: item[1][2])[::-1][:5]:
        print(f"   {own * 1000:7.0f} ms  {own / total:6.1%}  {calls:7,}  {where(filename, line, name)}")


def bare_upload_times(fill: int, sample: int = 50) -> list[tuple[int, float]]:
    """Seconds per conditional upload of a small record to the storage emulator (plait's storage
    client), with the bucket nearly empty and, if ``fill``, once it holds ``fill`` objects."""
    from plait.cloud.storage.client import GoogleCloudStorageClient

    storage = GoogleCloudStorageClient()
    record = canonical_json({"question_uuid": str(uuid.uuid4()), "event": {"kind": "question"}})
    uploaded = 0

    def upload(count: int) -> float:
        nonlocal uploaded
        start = time.perf_counter()
        for _ in range(count):
            path = f"gs://{SERVICE_BUCKET}/bare-uploads/{uuid.uuid4()}/question.json"
            storage.upload_from_string(record, path, content_type="application/json", if_generation_match=0)
        uploaded += count
        return (time.perf_counter() - start) / count

    upload(5)  # warm up the client and its connection pool
    times = [(uploaded, upload(sample))]
    if fill:
        upload(fill - uploaded)
        times.append((uploaded, upload(sample)))
    return times


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/shared/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def intake(directory: str, quick: bool) -> None:
    service_directory = make_service_directory(os.path.join(directory, "intake"))
    settings = ServiceSettings.from_environment(
        {
            "PLAIT_SERVICE_SRUID": "benchmark/echo:intake",
            "PLAIT_SERVICE_BUCKET": SERVICE_BUCKET,
            "PLAIT_DATASETS_BUCKET": DATASETS_BUCKET,
            "PLAIT_APP_DIRECTORY": service_directory,
            "PLAIT_TRANSPORT": "local",
        }
    )
    revision = settings.revision
    print("1. Question intake in process (handle_question on pre-built deliveries; LocalBus, no push endpoints):")

    count, repeats = (100, 2) if quick else (300, 3)
    bus = LocalBus()
    try:
        rates = []
        for _ in range(repeats):  # a fresh emulator for each run: its writes slow down as the bucket fills
            with StorageEmulator(buckets=(SERVICE_BUCKET,)) as emulator, emulator.environment():
                context = ServiceContext(settings, transport=bus, store=QuestionStore(SERVICE_BUCKET))
                rates.append(intake_rate(context, revision, count, 1))
        rate = max(rates)
        print(
            f"   (a) real QuestionStore, embedded storage emulator: {rate:8,.0f} questions/s "
            f"({1000 / rate:.2f} ms each; best of {repeats} x {count:,}, each into a fresh emulator) "
            f"({verdict(rate >= INTAKE_TARGET)} >= {INTAKE_TARGET:,}/s)"
        )
        with StorageEmulator(buckets=(SERVICE_BUCKET,)) as emulator, emulator.environment():
            uploads = bare_upload_times(fill=0 if quick else 1_000)
        print(
            "       for context, one bare conditional upload (ifGenerationMatch=0) of a small record to the emulator,\n"
            "       which runs in this process (sharing the GIL), serves one request at a time and rewrites its whole\n"
            "       object index as JSON on every write: "
            + "; ".join(
                f"{seconds * 1000:.2f} ms with {objects:,} objects in the bucket" for objects, seconds in uploads
            )
        )

        count, repeats = (500, 3) if quick else (2_000, 5)
        context = ServiceContext(settings, transport=bus, store=MemoryQuestionStore(SERVICE_BUCKET))
        rate = intake_rate(context, revision, count, repeats)
        print(
            f"   (b) question store in memory:                      {rate:8,.0f} questions/s "
            f"({1000 / rate:.2f} ms each; best of {repeats} x {count:,}) "
            f"({verdict(rate >= INTAKE_TARGET)} >= {INTAKE_TARGET:,}/s)"
        )
        print(
            "       (b) uses MemoryQuestionStore, a stand-in defined in this benchmark: a QuestionStore subclass\n"
            "       overriding its private _read/_write/_delete/_exists, since QuestionStore takes no persistence\n"
            "       backend (a proper one needs a persistence object passed to QuestionStore: see MemoryQuestionStore's\n"
            "       docstring in this file)."
        )
        profile_intake(context, revision, 300 if quick else 1_000)
    finally:
        bus.close()


# -- 2. round trips --


def wait_until_idle(bus: LocalBus, answered: int, timeout: float = 30) -> None:
    """Wait until the analysis runner has handled ``answered`` questions (it releases each claim after
    publishing the result), so the stack is not stopped under a function still using storage."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(
            1
            for name, _, status in list(bus.delivery_log)
            if name == "analysis-runner" and isinstance(status, int) and status < 300
        )
        if done >= answered:
            return
        time.sleep(0.02)
    print(f"   (warning: the analysis runner had not finished all {answered} questions after {timeout:g} s)")


def round_trips(directory: str, quick: bool) -> None:
    from plait.cloud.emulators.local_stack import LocalStack

    service_directory = make_service_directory(os.path.join(directory, "round-trip"))
    warm_up, count = (5, 50) if quick else (10, 200)
    print(
        f"2. Local round trip, ask -> result, trivial app (subscribe_to_logs=False; {count} questions "
        f"after {warm_up} warm-up):"
    )
    for mode in ("in_process", "http"):
        with LocalStack(service_directory, mode=mode) as stack:
            child = stack.child()
            times = []
            for index in range(warm_up + count):
                start = time.perf_counter()
                answer = child.ask(input_values={"n": index}, subscribe_to_logs=False, timeout=60)
                times.append(time.perf_counter() - start)
                if answer["output_values"] != {"n": index}:
                    raise RuntimeError(f"Unexpected answer: {answer}")
            wait_until_idle(stack.bus, warm_up + count)
        first, measured = times[0], times[warm_up:]
        drift = min(50, len(measured) // 4)
        p50, p95 = percentile(measured, 0.50), percentile(measured, 0.95)
        target = ROUND_TRIP_TARGETS[mode]
        print(
            f"   {mode:10}  p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  max {max(measured) * 1000:6.1f} ms  "
            f"mean {statistics.fmean(measured) * 1000:6.1f} ms  ({verdict(p50 <= target)} p50 <= {target * 1000:.0f} ms)\n"
            f"               first question (cold: loads twine, app, clients) {first * 1000:.0f} ms; p50 of the first "
            f"{drift} measured {percentile(measured[:drift], 0.5) * 1000:.1f} ms, of the last {drift} "
            f"{percentile(measured[-drift:], 0.5) * 1000:.1f} ms"
        )


# -- 3. import times --

STORAGE_CLIENTS = "functions_framework, google.cloud.storage"
PUBSUB_CLIENTS = "functions_framework, google.cloud.storage, google.cloud.pubsub_v1"

#: Each function module and the clients its first request needs (its baseline).
FUNCTION_MODULES = (
    ("question_intake", PUBSUB_CLIENTS, "records the question in GCS, publishes to Pub/Sub"),
    ("analysis_runner", PUBSUB_CLIENTS, "claims/answers in GCS, publishes to Pub/Sub"),
    ("dataset_finalisation", STORAGE_CLIENTS, "GCS only"),
    ("signed_urls", STORAGE_CLIENTS, "GCS only (signs with google-auth)"),
    ("main", PUBSUB_CLIENTS, "all four entry points"),
)

_TIMED_IMPORT = """\
import time
start = time.perf_counter()
{baseline}
middle = time.perf_counter()
import {module}
end = time.perf_counter()
print(middle - start, end - middle)
"""


def timed_import(module: str, baseline: str, directory: str) -> tuple[float, float]:
    """(baseline import time, time the module adds after it), in a fresh interpreter."""
    code = _TIMED_IMPORT.format(baseline=f"import {baseline}" if baseline else "pass", module=module)
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=directory, env=_clean_environment(), capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{completed.stderr}")
    before, added = completed.stdout.split()
    return float(before), float(added)


def heaviest_imports(module: str, baseline: str, directory: str, top: int = 3) -> str:
    """The packages that take longest to import (own time, grouped) when ``module`` follows ``baseline``."""
    code = f"import {baseline}\nimport sys\nprint('---', file=sys.stderr)\nimport {module}"
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=directory,
        env=_clean_environment(),
        capture_output=True,
        text=True,
    )
    lines = completed.stderr.split("---", 1)[-1].splitlines()
    own: dict[str, int] = {}
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        parts = name.strip().split(".")
        group = ".".join(parts[:3]) if parts[0] == "plait" else parts[0]
        own[group] = own.get(group, 0) + int(self_us)
    heaviest = sorted(own.items(), key=lambda item: item[1], reverse=True)[:top]
    return ", ".join(f"{name} {microseconds / 1000:.0f}" for name, microseconds in heaviest)


def _clean_environment() -> dict[str, str]:
    """This process's environment without what the benchmark's emulators set."""
    hidden = ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "PUBSUB_EMULATOR_HOST")
    return {key: value for key, value in os.environ.items() if key not in hidden and not key.startswith("PLAIT_")}


def imports(directory: str, quick: bool) -> None:
    repeats = 3 if quick else 5
    print(f"3. Import times, each in a fresh interpreter (best of {repeats}):")
    resources = min(timed_import("plait.resources", "", directory)[1] for _ in range(repeats))
    print(
        f"   import plait.resources: {resources * 1000:6.1f} ms "
        f"({verdict(resources <= RESOURCES_IMPORT_TARGET)} <= {RESOURCES_IMPORT_TARGET * 1000:.0f} ms)"
    )
    bases: dict[str, float] = {}
    results = []
    for name, baseline, needs in FUNCTION_MODULES:
        runs = [timed_import(f"plait.functions.{name}", baseline, directory) for _ in range(repeats)]
        bases[baseline] = min([bases.get(baseline, float("inf"))] + [before for before, _ in runs])
        results.append((name, baseline, needs, min(added for _, added in runs)))
    for baseline, seconds in bases.items():
        print(f"   baseline `import {baseline}`: {seconds * 1000:6.1f} ms")
    print("   added by each function module, after the baseline with the clients its first request needs:")
    for name, baseline, needs, added in results:
        clients = "storage + pubsub_v1" if "pubsub" in baseline else "storage"
        print(
            f"   plait.functions.{name:21} +{added * 1000:5.1f} ms  (baseline: functions_framework + {clients}: "
            f"{needs})  ({verdict(added <= FUNCTION_IMPORT_TARGET)} <= {FUNCTION_IMPORT_TARGET * 1000:.0f} ms)"
        )
        print(
            "        heaviest additions (ms of own import time): "
            + heaviest_imports(f"plait.functions.{name}", baseline, directory)
        )


# -- 4. signed URLs --


@contextlib.contextmanager
def signing_key_loaded_once() -> Iterator[bool]:
    """For diagnosis only: make plait's storage client load the signing key once, not once per URL
    (patches the private ``_signing_arguments`` for the block; yields False if it no longer exists)."""
    from plait.cloud.storage import client

    original = getattr(client, "_signing_arguments", None)
    if original is None:
        yield False
        return
    arguments = original()
    client._signing_arguments = lambda: arguments
    try:
        yield True
    finally:
        client._signing_arguments = original


def signed_urls(directory: str, quick: bool) -> None:
    import requests

    from plait.cloud.emulators.credentials import make_local_service_account_key
    from plait.resources import Dataset

    target_files = 1_000
    number_of_files, repeats = (250, 1) if quick else (target_files, 3)
    scale = target_files / number_of_files
    local = os.path.join(directory, "signed-dataset")
    os.makedirs(local)
    for index in range(number_of_files):
        with open(os.path.join(local, f"file-{index:04d}.csv"), "wb") as file:
            file.write(b"t,v\n" + f"{index},{index * 0.5}\n".encode())
    key_file = make_local_service_account_key(os.path.join(directory, "credentials"))
    cloud_path = f"gs://{DATASETS_BUCKET}/signed-dataset"

    def sign(runs: int) -> tuple[list[float], list[float]]:
        """Open the dataset afresh and sign it, ``runs`` times (fewer if a run is far over the target)."""
        opening, signing = [], []
        for _ in range(runs):
            start = time.perf_counter()
            dataset = Dataset(cloud_path)
            opening.append(time.perf_counter() - start)
            start = time.perf_counter()
            url = dataset.generate_signed_url()
            signing.append(time.perf_counter() - start)
            document = requests.get(url, timeout=60).json()
            if len(document["files"]) != number_of_files:
                raise RuntimeError(f"The signed dataset lists {len(document['files'])} files, not {number_of_files}.")
            if signing[-1] * scale > 5 * SIGNED_URLS_TARGET:
                break  # far over the target: repeating would only take time
        return opening, signing

    with (
        StorageEmulator(buckets=(DATASETS_BUCKET,)) as emulator,
        emulator.environment(),
        environment(GOOGLE_APPLICATION_CREDENTIALS=key_file),
    ):
        start = time.perf_counter()
        Dataset(path=local).upload(cloud_path)
        upload = time.perf_counter() - start
        opening, signing = sign(repeats)
        with signing_key_loaded_once() as patched:
            once = sign(repeats)[1] if patched else []

    def figure(times: list[float]) -> str:
        best = min(times)
        runs = f"best of {len(times)}" if len(times) > 1 else "1 run"
        if scale == 1:
            return f"{best:.3f} s ({runs})  ({verdict(best <= SIGNED_URLS_TARGET)} <= {SIGNED_URLS_TARGET:g} s)"
        return (
            f"{best:.3f} s for {number_of_files} files ({runs}), x{scale:g} = {best * scale:.2f} s for "
            f"{target_files:,} (extrapolated)  ({verdict(best * scale <= SIGNED_URLS_TARGET)} <= {SIGNED_URLS_TARGET:g} s)"
        )

    print(f"4. Signed URLs for a {target_files:,}-file dataset (embedded storage emulator, throwaway RSA key):")
    if scale != 1:
        print(
            f"   (quick: a {number_of_files}-file dataset, extrapolated linearly; the full run signs {target_files:,})"
        )
    print(f"   Dataset(gs://...).generate_signed_url(): {figure(signing)}")
    if len(signing) < repeats:
        print(f"   (stopped after {len(signing)} run(s): over 5x the target)")
    if once:
        print(
            "   for diagnosis, the same with the signing key loaded once instead of once per URL (the private\n"
            f"   plait.cloud.storage.client._signing_arguments patched in this benchmark): {figure(once)}"
        )
    print(
        f"   for context: opening Dataset(gs://...) {min(opening):.3f} s; uploading the dataset to the emulator "
        f"{upload:.1f} s (not a target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer questions and runs (under a minute)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections to run, of {', '.join(SECTIONS)}"
    )
    arguments = parser.parse_args()
    sections = [section.strip() for section in arguments.only.split(",") if section.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")

    functions = {"intake": intake, "round-trip": round_trips, "imports": imports, "signed-urls": signed_urls}
    directory = tempfile.mkdtemp(prefix="plait-benchmark-")
    started = time.perf_counter()
    try:
        print(f"plait service benchmarks on {os.cpu_count()} cores{' (quick)' if arguments.quick else ''}")
        for section in SECTIONS:
            if section in sections:
                functions[section](directory, arguments.quick)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"(took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
