"""The source archive works as Cloud Functions uses it: unpacked into a fresh virtualenv with only its
``requirements.txt`` installed (from the package index, as Cloud Build does), each entry point is loaded
by functions-framework from the archive's ``main.py`` and called once with the event Eventarc would
send, against the storage emulator and the official Pub/Sub emulator.

The environment the functions get is the one Terraform sets (``local.environment_variables`` in
``terraform/main.tf``, read from the HCL), with this test's buckets and topics as values.

One virtualenv and one ``pip install`` for the whole module (a minute or so on a cold cache); the
driver runs in it as a separate process, and these tests check what it reports and what it left in
the emulators.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile

import pytest

from plait.cloud.events.sruid import ServiceRevision
from plait.cloud.questions import QuestionStore
from plait.cloud.service.settings import ENVIRONMENT_VARIABLES
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.cloud.transport.pubsub import GooglePubSubTransport
from plait.packaging import build_source_archive
from plait.resources import Dataset

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(900)]

EXAMPLES = pytest.importorskip("plait.examples").__path__[0]
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = "plait-local"

#: Runs inside the fresh virtualenv, with the unpacked archive as its working directory (as on Cloud
#: Functions). Prints one JSON report on its last line.
DRIVER = textwrap.dedent(
    """
    import json
    import os
    import sys

    import functions_framework

    root = os.getcwd()
    context = json.loads(sys.argv[1])
    apps = {
        name: functions_framework.create_app(target=name, source=os.path.join(root, "main.py"), signature_type="http")
        for name in ("question_intake", "analysis_runner", "dataset_finalisation", "signed_urls")
    }

    import plait
    from plait.cloud.events import PARENT, encode_event, make_attributes
    from plait.cloud.events.eventarc import make_object_finalized_cloud_event, make_pubsub_cloud_event, to_http
    from plait.cloud.transport.pubsub import GooglePubSubTransport
    from plait.resources import Manifest

    report = {"plait": plait.__file__, "app_directory": os.environ["PLAIT_APP_DIRECTORY"], "sys_path": sys.path[:3]}

    def post(name, cloud_event):
        headers, body = to_http(cloud_event)
        response = apps[name].test_client().post("/", headers=headers, data=body)
        return {"status": response.status_code, "body": response.get_json()}

    # Dataset finalisation: an object was finalized in the datasets bucket.
    report["dataset_finalisation"] = post(
        "dataset_finalisation",
        make_object_finalized_cloud_event(
            context["datasets_bucket"], context["object_name"], context["object_generation"], context["object_size"]
        ),
    )

    # Question intake: a parent's question arrives on the questions topic.
    question_uuid = context["question_uuid"]
    attributes = make_attributes(
        kind="question",
        question_uuid=question_uuid,
        sender="plait-tests/parent",
        sender_type=PARENT,
        recipient=context["sruid"],
        reply_to=context["answers_topic"],
    )
    question = {
        "kind": "question",
        "input_values": {"minimum_speed_m_s": 0.5},
        "input_manifest": Manifest(datasets={"met_mast": context["input_dataset"]}).to_primitive(),
        "children": None,
        "forward_logs": True,
        "save_diagnostics": "SAVE_DIAGNOSTICS_ON_CRASH",
        "log_level": "INFO",
    }
    transport = GooglePubSubTransport.shared(os.environ["GOOGLE_CLOUD_PROJECT"])
    with transport.subscribe(context["analyses_topic"], question_uuid) as dispatched:
        report["question_intake"] = post(
            "question_intake",
            make_pubsub_cloud_event(
                os.environ["GOOGLE_CLOUD_PROJECT"],
                context["questions_topic"],
                "eventarc-questions-sub",
                encode_event(question, attributes),
                attributes,
                ordering_key=question_uuid,
            ),
        )
        message = dispatched.receive(timeout=60)
    report["dispatched"] = message is not None

    # Analysis runner: intake's dispatch arrives on the analyses topic.
    report["analysis_runner"] = post(
        "analysis_runner",
        make_pubsub_cloud_event(
            os.environ["GOOGLE_CLOUD_PROJECT"],
            context["analyses_topic"],
            "eventarc-analyses-sub",
            message.data,
            message.attributes,
            message_id=message.message_id,
            ordering_key=message.ordering_key,
        ),
    )

    # Signed URLs: an HTTP request for the input dataset.
    response = apps["signed_urls"].test_client().get(
        "/", query_string={"path": context["input_dataset"], "kind": "dataset"}
    )
    report["signed_urls"] = {"status": response.status_code, "body": response.get_json()}
    transport.close()
    print(json.dumps(report))
    """
)


def terraform_environment_variable_names() -> set[str]:
    """The names Terraform sets on every function (``local.environment_variables``)."""
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is in the dev extra")
    with open(os.path.join(REPOSITORY, "terraform", "main.tf"), encoding="utf-8") as file:
        parsed = hcl2.load(file)
    for block in parsed["locals"]:
        if "environment_variables" in block:
            return {key.strip('"') for key in block["environment_variables"] if not key.startswith("__")}
    raise AssertionError("terraform/main.tf sets no local.environment_variables")


@pytest.fixture(scope="module")
def unpacked_archive(tmp_path_factory):
    """The wind-shear example's archive, unpacked, with a fresh virtualenv holding its requirements."""
    build = tmp_path_factory.mktemp("archive")
    archive = build_source_archive(os.path.join(EXAMPLES, "wind-shear"), output=str(build / "wind-shear.zip"))
    root = build / "workspace"
    with zipfile.ZipFile(archive.path) as zipped:
        zipped.extractall(root)
    virtualenv = build / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(virtualenv)], check=True, timeout=300)
    python = str(virtualenv / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, f"pip install -r requirements.txt failed:\n{installed.stderr[-4000:]}"
    # The virtualenv has the archive's requirements and nothing of plait: plait comes from the archive.
    assert subprocess.run([python, "-c", "import plait"], cwd=build, capture_output=True).returncode != 0
    return root, python


@pytest.fixture(scope="module")
def deployment(unpacked_archive, storage_emulator, pubsub_emulator, service_account_key_file):
    """Run the driver once; return its report and what it was given."""
    root, python = unpacked_archive
    suffix = uuid.uuid4().hex[:8]
    revision = ServiceRevision.parse(f"example/wind-shear:archive-{suffix}")
    datasets_bucket, service_bucket = f"plait-archive-datasets-{suffix}", f"plait-archive-service-{suffix}"
    for bucket in (datasets_bucket, service_bucket):
        storage_emulator.create_bucket(bucket)
    transport = GooglePubSubTransport.shared(PROJECT)
    for topic in (revision.questions_topic, revision.analyses_topic, revision.answers_topic):
        transport.create_topic(topic)

    input_dataset = f"gs://{datasets_bucket}/inputs/{suffix}/met_mast"
    Dataset(path=os.path.join(EXAMPLES, "wind-shear", "data", "met_mast")).upload(input_dataset)
    uploaded = GoogleCloudStorageClient().upload_from_string(
        b"seconds,wind_speed_m_s\n0,8.1\n", f"gs://{datasets_bucket}/inputs/{suffix}/raw/mast.csv"
    )
    question_uuid = str(uuid.uuid4())
    context = {
        "sruid": revision.sruid,
        "datasets_bucket": datasets_bucket,
        "object_name": f"inputs/{suffix}/raw/mast.csv",
        "object_generation": str(uploaded.generation),
        "object_size": uploaded.size,
        "question_uuid": question_uuid,
        "questions_topic": revision.questions_topic,
        "analyses_topic": revision.analyses_topic,
        "answers_topic": revision.answers_topic,
        "input_dataset": input_dataset,
    }

    # What Terraform sets (terraform/main.tf, with the variables' defaults), with this test's values.
    settings = {
        "PLAIT_SERVICE_SRUID": revision.sruid,
        "PLAIT_SERVICE_BUCKET": service_bucket,
        "PLAIT_DATASETS_BUCKET": datasets_bucket,
        "PLAIT_QUESTIONS_TOPIC": revision.questions_topic,
        "PLAIT_ANALYSES_TOPIC": revision.analyses_topic,
        "PLAIT_OUTPUT_LOCATION": f"gs://{datasets_bucket}/outputs",
        "PLAIT_SIGNING_ALLOWED_PREFIXES": f"gs://{datasets_bucket}/",
        "PLAIT_HEARTBEAT_INTERVAL": "30",
        "PLAIT_CLAIM_LEASE_SECONDS": "90",
        "PLAIT_CANCELLATION_POLL_INTERVAL": "2",
        "PLAIT_APP_DIRECTORY": "service",
        "PLAIT_TRANSPORT": "pubsub",
        "GOOGLE_CLOUD_PROJECT": PROJECT,
    }
    assert set(settings) == terraform_environment_variable_names() == set(ENVIRONMENT_VARIABLES)
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(root.parent),
        "LANG": "C.UTF-8",
        "STORAGE_EMULATOR_HOST": os.environ["STORAGE_EMULATOR_HOST"],
        "PUBSUB_EMULATOR_HOST": os.environ["PUBSUB_EMULATOR_HOST"],
        # Cloud Functions signs through IAM signBlob; with the emulator, a throwaway key signs.
        "GOOGLE_APPLICATION_CREDENTIALS": service_account_key_file[0],
        "CLOUDSDK_CONFIG": os.path.join(os.devnull, "no-gcloud-config"),
        **settings,
    }

    with transport.subscribe(revision.answers_topic, question_uuid) as answers:
        driver = root.parent / "driver.py"
        driver.write_text(DRIVER)
        completed = subprocess.run(
            [python, str(driver), json.dumps(context)],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert completed.returncode == 0, f"the driver failed:\n{completed.stderr[-6000:]}"
        report = json.loads(completed.stdout.strip().splitlines()[-1])
        received = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "result" not in [kind for kind, _ in received]:
            message = answers.receive(timeout=1)
            if message is not None:
                received.append((message.attributes["kind"], json.loads(message.data)))
    return {
        "report": report,
        "context": context,
        "root": str(root),
        "service_bucket": service_bucket,
        "answers": received,
        "stderr": completed.stderr,
    }


def test_plait_and_the_app_come_from_the_archive(deployment):
    report = deployment["report"]
    assert report["plait"] == os.path.join(deployment["root"], "plait", "__init__.py")
    assert report["sys_path"][0] == deployment["root"]  # main.py puts the archive first
    assert report["app_directory"] == os.path.join(deployment["root"], "service")


def test_dataset_finalisation_finalises_the_new_object(deployment):
    outcome = deployment["report"]["dataset_finalisation"]
    assert outcome["status"] == 200, outcome
    assert outcome["body"]["action"] == "finalised"
    context = deployment["context"]
    metadata = GoogleCloudStorageClient().get_metadata(f"gs://{context['datasets_bucket']}/{context['object_name']}")
    assert metadata.custom_metadata["plait__hash"]


def test_question_intake_dispatches_the_question(deployment):
    outcome = deployment["report"]["question_intake"]
    assert outcome["status"] == 200, outcome
    assert outcome["body"] == {
        "action": "dispatched",
        "question_uuid": deployment["context"]["question_uuid"],
        "detail": "",
    }
    assert deployment["report"]["dispatched"]


def test_analysis_runner_answers_the_question(deployment):
    outcome = deployment["report"]["analysis_runner"]
    assert outcome["status"] == 200, (outcome, deployment["stderr"][-3000:])
    assert outcome["body"]["action"] == "answered"
    assert outcome["body"]["detail"] == "result"

    kinds = [kind for kind, _ in deployment["answers"]]
    assert kinds[0] == "delivery_acknowledgement" and kinds[-1] == "result"
    assert "heartbeat" in kinds and "monitor_message" in kinds
    result = deployment["answers"][-1][1]
    assert result["output_values"]["heights_m"] == [40, 60, 80, 100, 120]
    assert result["output_values"]["shear_exponent"] == pytest.approx(0.125, abs=0.01)
    recorded = QuestionStore(deployment["service_bucket"]).get_answer(deployment["context"]["question_uuid"])
    assert recorded[0]["event"]["kind"] == "result"


def test_signed_urls_signs_the_input_dataset(deployment):
    outcome = deployment["report"]["signed_urls"]
    assert outcome["status"] == 200, outcome
    assert outcome["body"]["kind"] == "dataset"
    assert outcome["body"]["url"].startswith("http")
    assert (
        Dataset(path=outcome["body"]["url"]).hash_value
        == Dataset(path=deployment["context"]["input_dataset"]).hash_value
    )


def test_the_virtualenv_holds_exactly_the_pinned_versions_and_no_plait(unpacked_archive):
    root, python = unpacked_archive
    frozen = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    installed = {_normalise(line) for line in frozen.splitlines() if "==" in line}
    assert not [line for line in installed if line.startswith("plait==")]
    with open(os.path.join(root, "requirements.txt"), encoding="utf-8") as file:
        pinned = [line.strip() for line in file if line.strip() and not line.startswith("#")]
    for requirement in pinned:
        assert _normalise(requirement) in installed, f"{requirement} is not what pip installed"


def _normalise(requirement: str) -> str:
    name, _, version = requirement.partition("==")
    return f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}"
