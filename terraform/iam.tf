# Least privilege. Every grant is on one bucket, topic, function or service account, except the
# few that Google Cloud checks only on the project (marked "project-level" below).
#
# | account                  | role                                   | on                                   |
# |--------------------------|----------------------------------------|--------------------------------------|
# | question intake          | roles/pubsub.publisher                 | analyses topic, answers topic (*)    |
# |                          | roles/storage.objectAdmin              | service bucket, questions/ only      |
# |                          | roles/storage.objectViewer             | datasets bucket                      |
# | analysis runner          | roles/pubsub.publisher                 | answers topic (*)                    |
# |                          | roles/storage.objectAdmin              | service bucket, datasets bucket      |
# |                          | roles/iam.serviceAccountTokenCreator   | itself (signs output URLs: signBlob) |
# | dataset finalisation     | roles/storage.objectAdmin              | datasets bucket                      |
# | signed URLs              | roles/storage.objectViewer             | datasets bucket                      |
# |                          | roles/storage.objectCreator            | datasets bucket (signed documents)   |
# |                          | roles/iam.serviceAccountTokenCreator   | itself (signBlob)                    |
# | each trigger account     | roles/run.invoker                      | its own function                     |
# |                          | roles/eventarc.eventReceiver           | project-level                        |
# | build                    | roles/storage.objectViewer             | sources bucket                       |
# |                          | roles/logging.logWriter                | project-level                        |
# |                          | roles/artifactregistry.writer          | project-level                        |
# |                          | roles/storage.objectAdmin              | project-level, gcf-v2-* buckets only |
# | GCS service agent        | roles/pubsub.publisher                 | project-level                        |
# | Pub/Sub service agent    | roles/pubsub.publisher                 | dead-letter topic                    |
# |                          | roles/iam.serviceAccountTokenCreator   | the Pub/Sub trigger accounts         |
#
# (*) and every topic in var.additional_reply_to_topics.

# -- question intake --

resource "google_pubsub_topic_iam_member" "question_intake_publishes_analyses" {
  project = var.project
  topic   = google_pubsub_topic.analyses.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.question_intake.member
}

resource "google_pubsub_topic_iam_member" "question_intake_publishes_answers" {
  project = var.project
  topic   = google_pubsub_topic.answers.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.question_intake.member
}

resource "google_pubsub_topic_iam_member" "question_intake_publishes_other_reply_to_topics" {
  for_each = toset(var.additional_reply_to_topics)
  project  = var.project
  topic    = each.value
  role     = "roles/pubsub.publisher"
  member   = google_service_account.question_intake.member
}

resource "google_storage_bucket_iam_member" "question_intake_records_questions" {
  bucket = google_storage_bucket.service.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.question_intake.member

  # Intake only reads and writes questions/<uuid>/... (question records and cancellations).
  condition {
    title       = "questions-only"
    description = "Only the question records, questions/<uuid>/..."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.service.name}/objects/questions/\")"
  }
}

resource "google_storage_bucket_iam_member" "question_intake_reads_datasets" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.question_intake.member
}

# -- analysis runner --

resource "google_pubsub_topic_iam_member" "analysis_runner_publishes_answers" {
  project = var.project
  topic   = google_pubsub_topic.answers.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.analysis_runner.member
}

resource "google_pubsub_topic_iam_member" "analysis_runner_publishes_other_reply_to_topics" {
  for_each = toset(var.additional_reply_to_topics)
  project  = var.project
  topic    = each.value
  role     = "roles/pubsub.publisher"
  member   = google_service_account.analysis_runner.member
}

resource "google_storage_bucket_iam_member" "analysis_runner_uses_service_bucket" {
  bucket = google_storage_bucket.service.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.analysis_runner.member
}

resource "google_storage_bucket_iam_member" "analysis_runner_uses_datasets" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.analysis_runner.member
}

resource "google_service_account_iam_member" "analysis_runner_signs_as_itself" {
  service_account_id = google_service_account.analysis_runner.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.analysis_runner.member
}

# -- dataset finalisation --

resource "google_storage_bucket_iam_member" "dataset_finalisation_updates_datasets" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.dataset_finalisation.member
}

# -- signed URLs --

resource "google_storage_bucket_iam_member" "signed_urls_reads_datasets" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.signed_urls.member
}

resource "google_storage_bucket_iam_member" "signed_urls_writes_signed_documents" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.signed_urls.member
}

resource "google_service_account_iam_member" "signed_urls_signs_as_itself" {
  service_account_id = google_service_account.signed_urls.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.signed_urls.member
}

resource "google_cloud_run_v2_service_iam_member" "signed_urls_invokers" {
  for_each = toset(var.signed_urls_invokers)
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.signed_urls.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# -- trigger accounts: invoke their own function, receive events --

resource "google_cloud_run_v2_service_iam_member" "question_intake_trigger_invokes" {
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.question_intake.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.question_intake_trigger.member
}

resource "google_cloud_run_v2_service_iam_member" "analysis_runner_trigger_invokes" {
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.analysis_runner.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.analysis_runner_trigger.member
}

resource "google_cloud_run_v2_service_iam_member" "dataset_finalisation_trigger_invokes" {
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.dataset_finalisation.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.dataset_finalisation_trigger.member
}

# project-level: Eventarc checks eventarc.events.receiveEvent on the project only.
resource "google_project_iam_member" "question_intake_trigger_receives_events" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.question_intake_trigger.member
}

resource "google_project_iam_member" "analysis_runner_trigger_receives_events" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.analysis_runner_trigger.member
}

resource "google_project_iam_member" "dataset_finalisation_trigger_receives_events" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.dataset_finalisation_trigger.member
}

# -- service agents --

# project-level: Cloud Storage publishes the bucket's notifications to a topic Eventarc creates
# (and names) itself.
resource "google_project_iam_member" "gcs_service_agent_publishes" {
  project = var.project
  role    = "roles/pubsub.publisher"
  member  = local.gcs_service_agent
}

# Pub/Sub forwards undeliverable messages to the dead-letter topic as its service agent.
resource "google_pubsub_topic_iam_member" "pubsub_service_agent_publishes_dead_letters" {
  project = var.project
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

# Pub/Sub signs the push requests' OIDC tokens as the trigger accounts (needed in projects whose
# Pub/Sub service agent predates April 2021; harmless elsewhere).
resource "google_service_account_iam_member" "pubsub_service_agent_tokens_for_question_intake_trigger" {
  service_account_id = google_service_account.question_intake_trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

resource "google_service_account_iam_member" "pubsub_service_agent_tokens_for_analysis_runner_trigger" {
  service_account_id = google_service_account.analysis_runner_trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# -- question askers (var.question_askers): ask, read answers, upload inputs --

resource "google_pubsub_topic_iam_member" "askers_publish_questions" {
  for_each = toset(var.question_askers)
  project  = var.project
  topic    = google_pubsub_topic.questions.name
  role     = "roles/pubsub.publisher"
  member   = each.value
}

resource "google_pubsub_topic_iam_member" "askers_subscribe_to_answers" {
  for_each = toset(var.question_askers)
  project  = var.project
  topic    = google_pubsub_topic.answers.name
  role     = "roles/pubsub.subscriber"
  member   = each.value
}

resource "google_storage_bucket_iam_member" "askers_use_datasets" {
  for_each = toset(var.question_askers)
  bucket   = google_storage_bucket.datasets.name
  role     = "roles/storage.objectUser"
  member   = each.value
}

# -- build --

resource "google_storage_bucket_iam_member" "build_reads_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

# project-level: build logs.
resource "google_project_iam_member" "build_writes_logs" {
  project = var.project
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# project-level: the functions' images go to the gcf-artifacts repository Cloud Functions creates.
resource "google_project_iam_member" "build_pushes_images" {
  project = var.project
  role    = "roles/artifactregistry.writer"
  member  = google_service_account.build.member
}

# project-level, but only on the buckets Cloud Functions stages sources and builds in
# (gcf-v2-sources-*, gcf-v2-uploads-*), as Google documents for a custom build account.
resource "google_project_iam_member" "build_uses_staging_buckets" {
  project = var.project
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.build.member

  condition {
    title       = "cloud-functions-staging-buckets"
    description = "Only the buckets Cloud Functions manages (gcf-v2-*)."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-\")"
  }
}
