"""The Terraform module's wiring, read from its HCL (python-hcl2): `terraform validate` needs the google
provider, which cannot be downloaded here, so these tests check what it would not check anyway — that
the deployment matches the code: entry points, environment variables, topic names, triggers, IAM."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import yaml

from plait.cloud.events.sruid import ServiceRevision
from plait.cloud.service.settings import ENVIRONMENT_VARIABLES
from plait.exceptions import InvalidSRUID
from plait.functions import main as functions_main
from plait.packaging import APP_DIRECTORY_IN_ARCHIVE

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTION = "google_cloudfunctions2_function"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"

#: function resource -> (trigger kind, what it listens to, its trigger account)
TRIGGERS = {
    "question_intake": (PUBSUB_PUBLISHED, "${google_pubsub_topic.questions.id}", "question_intake_trigger"),
    "analysis_runner": (PUBSUB_PUBLISHED, "${google_pubsub_topic.analyses.id}", "analysis_runner_trigger"),
    "dataset_finalisation": (
        STORAGE_FINALIZED,
        "${google_storage_bucket.datasets.name}",
        "dataset_finalisation_trigger",
    ),
}

#: Every role each principal holds, and on what: the least-privilege table of docs/deploy.md and iam.tf.
#: Keys are service accounts of the module (google_service_account.<key>), service agents, and the
#: variables listing people; targets are "topic:<name>", "bucket:<name>", "function:<name>",
#: "service_account:<name>", "project" or "var.<list of topics>", with "[<condition title>]" if conditional.
EXPECTED_ROLES = {
    "question_intake": {
        ("roles/pubsub.publisher", "topic:analyses"),
        ("roles/pubsub.publisher", "topic:answers"),
        ("roles/pubsub.publisher", "var.additional_reply_to_topics"),
        ("roles/storage.objectAdmin", "bucket:service [questions-only]"),
        ("roles/storage.objectViewer", "bucket:datasets"),
    },
    "analysis_runner": {
        ("roles/pubsub.publisher", "topic:answers"),
        ("roles/pubsub.publisher", "var.additional_reply_to_topics"),
        ("roles/storage.objectAdmin", "bucket:service"),
        ("roles/storage.objectAdmin", "bucket:datasets"),
        ("roles/iam.serviceAccountTokenCreator", "service_account:analysis_runner"),
    },
    "dataset_finalisation": {
        ("roles/storage.objectAdmin", "bucket:datasets"),
    },
    "signed_urls": {
        ("roles/storage.objectViewer", "bucket:datasets"),
        ("roles/storage.objectCreator", "bucket:datasets"),
        ("roles/iam.serviceAccountTokenCreator", "service_account:signed_urls"),
    },
    "question_intake_trigger": {
        ("roles/run.invoker", "function:question_intake"),
        ("roles/eventarc.eventReceiver", "project"),
    },
    "analysis_runner_trigger": {
        ("roles/run.invoker", "function:analysis_runner"),
        ("roles/eventarc.eventReceiver", "project"),
    },
    "dataset_finalisation_trigger": {
        ("roles/run.invoker", "function:dataset_finalisation"),
        ("roles/eventarc.eventReceiver", "project"),
    },
    "build": {
        ("roles/storage.objectViewer", "bucket:sources"),
        ("roles/logging.logWriter", "project"),
        ("roles/artifactregistry.writer", "project"),
        ("roles/storage.objectAdmin", "project [cloud-functions-staging-buckets]"),
    },
    "gcs_service_agent": {
        ("roles/pubsub.publisher", "project"),
    },
    "pubsub_service_agent": {
        ("roles/pubsub.publisher", "topic:dead_letter"),
        ("roles/iam.serviceAccountTokenCreator", "service_account:question_intake_trigger"),
        ("roles/iam.serviceAccountTokenCreator", "service_account:analysis_runner_trigger"),
    },
    "var.signed_urls_invokers": {
        ("roles/run.invoker", "function:signed_urls"),
    },
    "var.question_askers": {
        ("roles/pubsub.publisher", "topic:questions"),
        ("roles/pubsub.subscriber", "topic:answers"),
        ("roles/storage.objectUser", "bucket:datasets"),
    },
}

#: The IAM resource types the module may use: additive members only, never authoritative bindings
#: or policies (which would remove grants made by others).
IAM_TARGET_ATTRIBUTE = {
    "google_pubsub_topic_iam_member": ("topic", r"\$\{google_pubsub_topic\.(\w+)\.name\}", "topic"),
    "google_storage_bucket_iam_member": ("bucket", r"\$\{google_storage_bucket\.(\w+)\.name\}", "bucket"),
    "google_service_account_iam_member": (
        "service_account_id",
        r"\$\{google_service_account\.(\w+)\.name\}",
        "service_account",
    ),
    "google_cloud_run_v2_service_iam_member": (
        "name",
        rf"\$\{{{FUNCTION}\.(\w+)\.service_config\[0\]\.service\}}",
        "function",
    ),
    "google_project_iam_member": ("project", None, "project"),
}


def block(body: dict, name: str) -> dict:
    """The single block ``name`` of a resource body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one {name} block, got {blocks!r}"
    return blocks[0]


def reference(expression: str, pattern: str) -> str:
    match = re.fullmatch(pattern, expression)
    assert match, f"{expression!r} does not match {pattern!r}"
    return match.group(1)


def for_each_variable(body: dict) -> str:
    return "var." + reference(body["for_each"], r"\$\{toset\(var\.(\w+)\)\}")


def principal(body: dict) -> str:
    member = body["member"]
    if member == "${each.value}":
        return for_each_variable(body)
    for pattern in (r"\$\{google_service_account\.(\w+)\.member\}", r"\$\{local\.(\w+)\}"):
        match = re.fullmatch(pattern, member)
        if match:
            return match.group(1)
    raise AssertionError(f"unexpected IAM member {member!r}")


def target(type_: str, body: dict) -> str:
    attribute, pattern, kind = IAM_TARGET_ATTRIBUTE[type_]
    if pattern is None:
        assert body[attribute] == "${var.project}"
        described = kind
    elif body[attribute] == "${each.value}":
        described = for_each_variable(body)
    else:
        described = f"{kind}:{reference(body[attribute], pattern)}"
    if "condition" in body:
        described += f" [{block(body, 'condition')['title']}]"
    return described


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return [value] if isinstance(value, str) else []


def interpolate(template: str, module, variables: dict[str, str]) -> str:
    """Evaluate a template made only of literal text, ``${var.x}`` and ``${local.x}``."""

    def value(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "var":
            return variables[name]
        return interpolate(module.locals[name], module, variables)

    return re.sub(r"\$\{(var|local)\.(\w+)\}", value, template)


def hcl_regex(condition: str, variable: str) -> str:
    """The regular expression a validation condition applies to ``var.<variable>``."""
    match = re.search(rf'regex\("((?:[^"\\]|\\.)*)",\s*var\.{variable}\)', condition)
    assert match, f"no regex(..., var.{variable}) in {condition!r}"
    return re.sub(r"\\(.)", r"\1", match.group(1))  # HCL string escapes


# -- the functions --


def test_there_are_exactly_the_four_functions_named_after_their_entry_points(module):
    functions = module.resources[FUNCTION]
    assert sorted(functions) == sorted(functions_main.ENTRY_POINTS)
    for name, body in functions.items():
        entry_point = block(body, "build_config")["entry_point"]
        assert entry_point == name
        assert entry_point in functions_main.__all__
        assert callable(getattr(functions_main, entry_point))


def test_entry_points_are_those_functions_main_py_exports():
    source = f"{REPOSITORY}/functions/main.py"
    with open(source, encoding="utf-8") as file:
        text = file.read()
    declared = re.search(r"__all__ = \[(.*?)\]", text, re.S).group(1)
    assert sorted(re.findall(r'"(\w+)"', declared)) == sorted(functions_main.ENTRY_POINTS)


@pytest.mark.parametrize("name", sorted(functions_main.ENTRY_POINTS))
def test_each_function_is_built_from_the_source_archive_with_a_supported_runtime(module, name):
    build = block(module.resource(FUNCTION, name), "build_config")
    assert build["runtime"] == "${var.runtime}"
    assert build["service_account"] == "${google_service_account.build.id}"
    storage_source = block(block(build, "source"), "storage_source")
    assert storage_source == {
        "bucket": "${google_storage_bucket.sources.name}",
        "object": "${google_storage_bucket_object.source.name}",
    }
    runtime = module.variables["runtime"]
    assert runtime["default"] == "python311"
    pattern = hcl_regex(block(runtime, "validation")["condition"], "runtime")
    assert [
        value for value in ("python39", "python310", "python311", "python312", "python313") if re.search(pattern, value)
    ] == [
        "python311",
        "python312",
        "python313",
    ]


def test_the_archive_object_is_named_by_its_content_hash(module):
    source = module.resource("google_storage_bucket_object", "source")
    assert source["source"] == "${var.source_archive}"
    assert "${filesha256(var.source_archive)}" in source["name"]
    assert source["bucket"] == "${google_storage_bucket.sources.name}"


@pytest.mark.parametrize("name", sorted(functions_main.ENTRY_POINTS))
def test_each_function_runs_as_its_own_account_with_resources_from_variables(module, name):
    service = block(module.resource(FUNCTION, name), "service_config")
    assert service["service_account_email"] == f"${{google_service_account.{name}.email}}"
    for attribute, setting in (
        ("available_memory", "memory"),
        ("timeout_seconds", "timeout_seconds"),
        ("max_instance_count", "max_instances"),
        ("min_instance_count", "min_instances"),
    ):
        assert service[attribute] == f"${{var.functions.{name}.{setting}}}"
    assert f"{name} = optional(object(" in module.variables["functions"]["type"]


def test_every_environment_variable_the_code_reads_is_set_on_every_function(module):
    environment = module.locals["environment_variables"]
    # GOOGLE_CLOUD_PROJECT too: Cloud Functions' newer runtimes do not set it, and Pub/Sub needs it.
    assert set(environment) == set(ENVIRONMENT_VARIABLES)
    for name in functions_main.ENTRY_POINTS:
        service = block(module.resource(FUNCTION, name), "service_config")
        assert service["environment_variables"] == "${local.environment_variables}"


def test_environment_variables_point_at_this_revisions_resources(module):
    environment = module.locals["environment_variables"]
    assert environment["PLAIT_SERVICE_SRUID"] == "${local.sruid}"
    assert environment["PLAIT_SERVICE_BUCKET"] == "${google_storage_bucket.service.name}"
    assert environment["PLAIT_DATASETS_BUCKET"] == "${google_storage_bucket.datasets.name}"
    assert environment["PLAIT_QUESTIONS_TOPIC"] == "${google_pubsub_topic.questions.name}"
    assert environment["PLAIT_ANALYSES_TOPIC"] == "${google_pubsub_topic.analyses.name}"
    assert environment["PLAIT_OUTPUT_LOCATION"].startswith("gs://${google_storage_bucket.datasets.name}/")
    assert environment["PLAIT_TRANSPORT"] == "pubsub"
    assert environment["GOOGLE_CLOUD_PROJECT"] == "${var.project}"
    assert environment["PLAIT_APP_DIRECTORY"] == "${var.app_source_path}"
    assert module.variables["app_source_path"]["default"] == APP_DIRECTORY_IN_ARCHIVE
    assert environment["PLAIT_CLAIM_LEASE_SECONDS"] == "${tostring(var.claim_lease_seconds)}"
    assert (
        module.variables["claim_lease_seconds"]["default"] > module.variables["heartbeat_interval_seconds"]["default"]
    )


@pytest.mark.parametrize("sruid", ["example/wind-shear:0.1.0", "my-org/a:main-a1b2c3", "a1/b-2-c:A_b.C-d"])
def test_topic_and_sruid_names_are_the_ones_plait_derives(module, sruid):
    revision = ServiceRevision.parse(sruid)
    variables = {
        "service_namespace": revision.namespace,
        "service_name": revision.name,
        "revision_tag": revision.revision_tag,
    }
    assert interpolate(module.locals["sruid"], module, variables) == sruid
    topics = module.locals["topic_names"]
    for resource, kind in (
        ("questions", "questions"),
        ("analyses", "analyses"),
        ("answers", "answers"),
        ("dead_letter", "dead-letter"),
    ):
        assert interpolate(topics[resource], module, variables) == revision.topic(kind)
        assert module.resource("google_pubsub_topic", resource)["name"] == f"${{local.topic_names.{resource}}}"


# -- triggers --


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_event_triggers_listen_to_the_right_topic_or_bucket_and_retry(module, name):
    event_type, source, trigger_account = TRIGGERS[name]
    trigger = block(module.resource(FUNCTION, name), "event_trigger")
    assert trigger["event_type"] == event_type
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["service_account_email"] == f"${{google_service_account.{trigger_account}.email}}"
    assert trigger["trigger_region"] == "${var.region}"
    if event_type == PUBSUB_PUBLISHED:
        assert trigger["pubsub_topic"] == source
        assert "event_filters" not in trigger
    else:
        assert "pubsub_topic" not in trigger
        assert block(trigger, "event_filters") == {"attribute": "bucket", "value": source}


def test_event_functions_accept_internal_traffic_only_and_signed_urls_ingress_is_a_variable(module):
    for name in TRIGGERS:
        assert block(module.resource(FUNCTION, name), "service_config")["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
    signed_urls = module.resource(FUNCTION, "signed_urls")
    assert "event_trigger" not in signed_urls
    assert block(signed_urls, "service_config")["ingress_settings"] == "${var.signed_urls_ingress}"


def test_the_functions_wait_for_the_iam_their_triggers_and_builds_need(module):
    for name in functions_main.ENTRY_POINTS:
        depends_on = module.resource(FUNCTION, name)["depends_on"]
        assert "${google_project_iam_member.build_writes_logs}" in depends_on
        if name in TRIGGERS:
            assert f"${{google_project_iam_member.{name}_trigger_receives_events}}" in depends_on
            assert "${google_project_iam_member.gcs_service_agent_publishes}" in depends_on


# -- dead letters --


def test_dead_letters_are_kept_and_the_setup_covers_both_pubsub_triggers(module):
    subscription = module.resource("google_pubsub_subscription", "dead_letter")
    assert subscription["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert block(subscription, "expiration_policy")["ttl"] == ""
    setup = module.outputs["dead_letter_setup"]["value"]
    for name in ("question_intake", "analysis_runner"):
        assert f"google_cloudfunctions2_function.{name}.event_trigger[0].trigger" in setup
    assert "--dead-letter-topic='${google_pubsub_topic.dead_letter.id}'" in setup
    assert "--max-delivery-attempts=${var.max_delivery_attempts}" in setup
    assert "roles/pubsub.subscriber" in setup and "${local.pubsub_service_agent}" in setup


# -- IAM --


def test_each_principal_has_exactly_the_documented_roles(module):
    granted: dict[str, set[tuple[str, str]]] = {}
    for type_, name, body in module.all_resources():
        if "_iam_" not in type_:
            continue
        assert type_ in IAM_TARGET_ATTRIBUTE, f"{type_}.{name}: only additive *_iam_member resources are expected"
        granted.setdefault(principal(body), set()).add((body["role"], target(type_, body)))
    assert granted == EXPECTED_ROLES


def test_every_service_account_is_one_of_the_documented_principals(module):
    accounts = set(module.resources["google_service_account"])
    assert accounts == {name for name in EXPECTED_ROLES if not name.startswith("var.") and "agent" not in name}
    assert set(functions_main.ENTRY_POINTS) <= accounts


def test_no_public_members_anywhere(module, example_root):
    public = ("allUsers", "allAuthenticatedUsers")
    for configuration in (module, example_root):
        for type_, name, body in configuration.all_resources():
            assert body.get("member") not in public, f"{type_}.{name} is public"
            assert not set(body.get("members", [])) & set(public), f"{type_}.{name} is public"
    # Members given through variables: the variables refuse public members.
    for variable in ("signed_urls_invokers", "question_askers"):
        condition = block(module.variables[variable], "validation")["condition"]
        assert '!contains(["allUsers", "allAuthenticatedUsers"], member)' in condition


def test_the_intake_condition_limits_it_to_question_records(module):
    condition = block(
        module.resource("google_storage_bucket_iam_member", "question_intake_records_questions"), "condition"
    )
    assert "/objects/questions/" in condition["expression"]
    assert "${google_storage_bucket.service.name}" in condition["expression"]


def test_the_service_agents_are_the_projects(module):
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in module.locals["pubsub_service_agent"]
    assert "google_storage_project_service_account.gcs.email_address" in module.locals["gcs_service_agent"]


def test_the_apis_are_enabled(module):
    apis = module.resource("google_project_service", "apis")
    for api in (
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "eventarc",
        "pubsub",
        "storage",
        "iam",
        "iamcredentials",
    ):
        assert f'"{api}.googleapis.com"' in apis["for_each"]
    assert apis["disable_on_destroy"] is False


# -- storage --


@pytest.mark.parametrize("name", ["datasets", "service", "sources"])
def test_buckets_are_private_uniform_and_kept_on_destroy_unless_asked(module, name):
    bucket = module.resource("google_storage_bucket", name)
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["force_destroy"] == "${var.force_destroy}"
    assert bucket["location"] == "${var.region}"
    assert module.variables["force_destroy"]["default"] is False


def test_the_datasets_bucket_is_versioned_and_old_versions_expire(module):
    bucket = module.resource("google_storage_bucket", "datasets")
    assert block(bucket, "versioning")["enabled"] is True
    rule = block(bucket, "lifecycle_rule")
    assert block(rule, "action")["type"] == "Delete"
    assert block(rule, "condition")["days_since_noncurrent_time"] == "${var.noncurrent_version_retention_days}"


def test_diagnostics_expire(module):
    bucket = module.resource("google_storage_bucket", "service")
    rule = block(bucket, "lifecycle_rule")
    assert block(rule, "action")["type"] == "Delete"
    condition = block(rule, "condition")
    assert condition["matches_prefix"] == ["diagnostics/"]
    assert condition["age"] == "${var.diagnostics_retention_days}"


# -- variables and outputs --


def test_every_variable_is_described_and_the_important_ones_validated(module, example_root):
    for configuration in (module, example_root):
        for name, variable in configuration.variables.items():
            assert len(variable.get("description", "")) > 20, f"variable {name} needs a description"
    for name in (
        "project",
        "region",
        "service_namespace",
        "service_name",
        "revision_tag",
        "source_archive",
        "app_source_path",
        "runtime",
        "functions",
        "signed_urls_invokers",
        "signed_urls_ingress",
        "question_askers",
        "max_delivery_attempts",
    ):
        assert module.variables[name].get("validation"), f"variable {name} needs a validation"


NAMES = ["my-org", "a", "wind-shear2", "a1-b2-c3", "My-org", "-a", "a-", "a--b", "a_b", "a.b", "a b", "ä"]
TAGS = [
    "1.0.0",
    "main-a1b2c3",
    "A_b.C-d",
    "v1",
    "_",
    "1..0",
    ".1",
    "1.",
    "a b",
    "a/b",
    "a:b",
    "1.-0",
    "x" * 128,
    "x" * 129,
]


@pytest.mark.parametrize("variable", ["service_namespace", "service_name"])
@pytest.mark.parametrize("value", NAMES)
def test_namespace_and_name_validations_agree_with_plait(module, variable, value):
    pattern = hcl_regex(block(module.variables[variable], "validation")["condition"], variable)
    sruid = f"{value}/x:1" if variable == "service_namespace" else f"x/{value}:1"
    assert bool(re.search(pattern, value)) == _valid(sruid), value


@pytest.mark.parametrize("value", TAGS)
def test_revision_tag_validation_agrees_with_plait(module, value):
    condition = block(module.variables["revision_tag"], "validation")["condition"]
    pattern = hcl_regex(condition, "revision_tag")
    assert "length(var.revision_tag) <= 128" in condition
    assert (bool(re.search(pattern, value)) and len(value) <= 128) == _valid(f"x/y:{value}"), value


def _valid(sruid: str) -> bool:
    try:
        ServiceRevision.parse(sruid)
    except InvalidSRUID:
        return False
    return True


def test_outputs_name_the_topics_buckets_and_signed_url_function(module):
    outputs = module.outputs
    for name, expected in (
        ("questions_topic", "${google_pubsub_topic.questions.name}"),
        ("analyses_topic", "${google_pubsub_topic.analyses.name}"),
        ("answers_topic", "${google_pubsub_topic.answers.name}"),
        ("dead_letter_topic", "${google_pubsub_topic.dead_letter.name}"),
        ("datasets_bucket", "${google_storage_bucket.datasets.name}"),
        ("service_bucket", "${google_storage_bucket.service.name}"),
        ("signed_urls_url", f"${{{FUNCTION}.signed_urls.service_config[0].uri}}"),
        ("sruid", "${local.sruid}"),
    ):
        assert outputs[name]["value"] == expected
        assert outputs[name]["description"]


def test_every_reference_names_something_declared(module):
    """What `terraform validate` would catch first: a reference to an undeclared variable, local or resource."""
    declared_resources = {(type_, name) for type_, name, _ in module.all_resources()}
    declared_data = {(type_, name) for type_, named in module.data.items() for name in named}
    for text in strings_in([module.resources, module.data, module.locals, module.outputs, module.variables]):
        for name in re.findall(r"(?<![\w.])var\.(\w+)", text):
            assert name in module.variables, f"var.{name} is not declared ({text[:80]})"
        for name in re.findall(r"(?<![\w.])local\.(\w+)", text):
            assert name in module.locals, f"local.{name} is not declared ({text[:80]})"
        for type_, name in re.findall(r"(?<![\w.])(google_\w+)\.(\w+)", text):
            assert (type_, name) in declared_resources, f"{type_}.{name} is not declared ({text[:80]})"
        for type_, name in re.findall(r"(?<![\w])data\.(google_\w+)\.(\w+)", text):
            assert (type_, name) in declared_data, f"data.{type_}.{name} is not declared"


def test_checkov_skips_carry_a_justification(module, example_root):
    for configuration in (module, example_root):
        for file_name, text in configuration.text.items():
            for line in text.splitlines():
                if "checkov:skip" in line:
                    match = re.search(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+):(.+)$", line)
                    assert match, f"{file_name}: malformed checkov skip: {line.strip()}"
                    assert len(match.group(2).strip()) > 30, f"{file_name}: {match.group(1)} needs a real reason"


# -- the example root configuration --


def test_the_example_deploys_the_wind_shear_example_with_the_module(example_root, module):
    (_, call), *others = example_root.modules.items()
    assert not others
    assert call["source"] == "../.."
    with open(f"{REPOSITORY}/examples/wind-shear/plait.yaml", encoding="utf-8") as file:
        service = yaml.safe_load(file)["services"][0]
    assert call["service_namespace"] == service["namespace"]
    assert call["service_name"] == service["name"]
    ServiceRevision.parse(
        f"{service['namespace']}/{service['name']}:{example_root.variables['revision_tag']['default']}"
    )
    assert example_root.variables["source_archive"]["default"].endswith("build/wind-shear.zip")
    required = {name for name, variable in module.variables.items() if "default" not in variable}
    assert required <= set(call), f"the example does not set {required - set(call)}"
    assert set(call) - {"source"} <= set(module.variables)
    for text in strings_in(example_root.outputs):
        for reference_ in re.findall(r"module\.\w+\.(\w+)", text):
            assert reference_ in module.outputs
