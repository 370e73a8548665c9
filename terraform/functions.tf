# The four Cloud Functions (2nd gen). Each is built from the same source archive, runs as its own
# service account with every environment variable plait reads, and is triggered as DESIGN.md says:
#
# | function             | entry point          | trigger                                          |
# |----------------------|----------------------|--------------------------------------------------|
# | question intake      | question_intake      | Pub/Sub: the questions topic                     |
# | analysis runner      | analysis_runner      | Pub/Sub: the analyses topic                      |
# | dataset finalisation | dataset_finalisation | Cloud Storage: object finalized, datasets bucket |
# | signed URLs          | signed_urls          | HTTP (IAM-authenticated: var.signed_urls_invokers) |
#
# The event triggers retry failed deliveries (RETRY_POLICY_RETRY): the functions acknowledge
# permanent errors with a 2xx and fail only on transient ones (docs/protocol.md). Eventarc delivers
# CloudEvents over HTTP; the functions parse them themselves (functions-framework's http signature).

resource "google_cloudfunctions2_function" "question_intake" {
  project     = var.project
  location    = var.region
  name        = "${local.prefix}-question-intake"
  description = "plait question intake: ${local.sruid}"
  labels      = local.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "question_intake"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.question_intake.email
    environment_variables            = local.environment_variables
    available_memory                 = var.functions.question_intake.memory
    available_cpu                    = var.functions.question_intake.cpu
    timeout_seconds                  = var.functions.question_intake.timeout_seconds
    max_instance_count               = var.functions.question_intake.max_instances
    min_instance_count               = var.functions.question_intake.min_instances
    max_instance_request_concurrency = var.functions.question_intake.concurrency
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.questions.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.question_intake_trigger.email
  }

  depends_on = [
    # Eventarc checks the trigger's identity and the service agents when the trigger is made.
    google_project_iam_member.question_intake_trigger_receives_events,
    google_project_iam_member.analysis_runner_trigger_receives_events,
    google_project_iam_member.dataset_finalisation_trigger_receives_events,
    google_project_iam_member.gcs_service_agent_publishes,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_question_intake_trigger,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_analysis_runner_trigger,
    # The build runs as the build account.
    google_storage_bucket_iam_member.build_reads_sources,
    google_project_iam_member.build_writes_logs,
    google_project_iam_member.build_pushes_images,
    google_project_iam_member.build_uses_staging_buckets,
  ]
}

resource "google_cloudfunctions2_function" "analysis_runner" {
  project     = var.project
  location    = var.region
  name        = "${local.prefix}-analysis-runner"
  description = "plait analysis runner: ${local.sruid}"
  labels      = local.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "analysis_runner"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.analysis_runner.email
    environment_variables            = local.environment_variables
    available_memory                 = var.functions.analysis_runner.memory
    available_cpu                    = var.functions.analysis_runner.cpu
    timeout_seconds                  = var.functions.analysis_runner.timeout_seconds
    max_instance_count               = var.functions.analysis_runner.max_instances
    min_instance_count               = var.functions.analysis_runner.min_instances
    max_instance_request_concurrency = var.functions.analysis_runner.concurrency
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.analyses.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.analysis_runner_trigger.email
  }

  lifecycle {
    precondition {
      condition     = var.claim_lease_seconds > var.heartbeat_interval_seconds
      error_message = "claim_lease_seconds must be longer than heartbeat_interval_seconds: claims are renewed with each heartbeat."
    }
  }

  depends_on = [
    # Eventarc checks the trigger's identity and the service agents when the trigger is made.
    google_project_iam_member.question_intake_trigger_receives_events,
    google_project_iam_member.analysis_runner_trigger_receives_events,
    google_project_iam_member.dataset_finalisation_trigger_receives_events,
    google_project_iam_member.gcs_service_agent_publishes,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_question_intake_trigger,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_analysis_runner_trigger,
    # The build runs as the build account.
    google_storage_bucket_iam_member.build_reads_sources,
    google_project_iam_member.build_writes_logs,
    google_project_iam_member.build_pushes_images,
    google_project_iam_member.build_uses_staging_buckets,
  ]
}

resource "google_cloudfunctions2_function" "dataset_finalisation" {
  project     = var.project
  location    = var.region
  name        = "${local.prefix}-dataset-finalisation"
  description = "plait dataset finalisation: ${local.sruid}"
  labels      = local.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "dataset_finalisation"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.dataset_finalisation.email
    environment_variables            = local.environment_variables
    available_memory                 = var.functions.dataset_finalisation.memory
    available_cpu                    = var.functions.dataset_finalisation.cpu
    timeout_seconds                  = var.functions.dataset_finalisation.timeout_seconds
    max_instance_count               = var.functions.dataset_finalisation.max_instances
    min_instance_count               = var.functions.dataset_finalisation.min_instances
    max_instance_request_concurrency = var.functions.dataset_finalisation.concurrency
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
  }

  event_trigger {
    # A bucket's events are delivered in the bucket's location (the region, here).
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.dataset_finalisation_trigger.email

    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.datasets.name
    }
  }

  depends_on = [
    # Eventarc checks the trigger's identity and the service agents when the trigger is made.
    google_project_iam_member.question_intake_trigger_receives_events,
    google_project_iam_member.analysis_runner_trigger_receives_events,
    google_project_iam_member.dataset_finalisation_trigger_receives_events,
    google_project_iam_member.gcs_service_agent_publishes,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_question_intake_trigger,
    google_service_account_iam_member.pubsub_service_agent_tokens_for_analysis_runner_trigger,
    # The build runs as the build account.
    google_storage_bucket_iam_member.build_reads_sources,
    google_project_iam_member.build_writes_logs,
    google_project_iam_member.build_pushes_images,
    google_project_iam_member.build_uses_staging_buckets,
  ]
}

resource "google_cloudfunctions2_function" "signed_urls" {
  #checkov:skip=CKV_GCP_124:Ingress is var.signed_urls_ingress: research engineers call this function from their own machines, so it defaults to ALLOW_ALL; every caller must still be one of var.signed_urls_invokers (IAM; never allUsers). Set ALLOW_INTERNAL_ONLY when all callers are inside the project's network.
  project     = var.project
  location    = var.region
  name        = "${local.prefix}-signed-urls"
  description = "plait signed URLs: ${local.sruid}"
  labels      = local.labels

  build_config {
    runtime         = var.runtime
    entry_point     = "signed_urls"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.signed_urls.email
    environment_variables            = local.environment_variables
    available_memory                 = var.functions.signed_urls.memory
    available_cpu                    = var.functions.signed_urls.cpu
    timeout_seconds                  = var.functions.signed_urls.timeout_seconds
    max_instance_count               = var.functions.signed_urls.max_instances
    min_instance_count               = var.functions.signed_urls.min_instances
    max_instance_request_concurrency = var.functions.signed_urls.concurrency
    ingress_settings                 = var.signed_urls_ingress
    all_traffic_on_latest_revision   = true
  }

  depends_on = [
    # The build runs as the build account.
    google_storage_bucket_iam_member.build_reads_sources,
    google_project_iam_member.build_writes_logs,
    google_project_iam_member.build_pushes_images,
    google_project_iam_member.build_uses_staging_buckets,
  ]
}
