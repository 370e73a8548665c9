# One plait service revision (namespace/name:revision_tag) on Google Cloud: its buckets, topics,
# four Cloud Functions (2nd gen), their service accounts and IAM. See docs/deploy.md.

locals {
  sruid = "${var.service_namespace}/${var.service_name}:${var.revision_tag}"

  # Topic names exactly as plait derives them from the SRUID (plait.cloud.events.sruid).
  topic_prefix = "plait.${var.service_namespace}.${var.service_name}.${var.revision_tag}"
  topic_names = {
    questions   = "${local.topic_prefix}.questions"
    analyses    = "${local.topic_prefix}.analyses"
    answers     = "${local.topic_prefix}.answers"
    dead_letter = "${local.topic_prefix}.dead-letter"
  }

  # A short, stable id for names that must be short (service accounts: 6-30 characters).
  id_hash = substr(sha256("${var.project}/${local.sruid}"), 0, 8)

  # Functions and buckets: "<name>-<tag>" made name-safe, cut to 20 characters, plus 6 hex digits of
  # the hash so that revisions whose names cut to the same text still differ.
  # Function names must start with a letter: a name starting with a digit gets "s-" in front.
  name_safe       = replace(lower("${var.service_name}-${var.revision_tag}"), "/[^a-z0-9]+/", "-")
  readable_prefix = replace(substr(can(regex("^[a-z]", local.name_safe)) ? local.name_safe : "s-${local.name_safe}", 0, 20), "/-+$/", "")
  prefix          = coalesce(var.resource_prefix, "${local.readable_prefix}-${substr(local.id_hash, 0, 6)}")

  labels = merge(var.labels, {
    "plait-namespace" = var.service_namespace
    "plait-service"   = var.service_name
    "plait-revision"  = substr(replace(lower(var.revision_tag), "/[^a-z0-9_-]/", "_"), 0, 63)
  })

  datasets_bucket_name = coalesce(var.datasets_bucket_name, "${local.prefix}-datasets")
  service_bucket_name  = coalesce(var.service_bucket_name, "${local.prefix}-service")
  sources_bucket_name  = coalesce(var.sources_bucket_name, "${local.prefix}-sources")

  signing_allowed_prefixes = coalescelist(var.signing_allowed_prefixes, ["gs://${local.datasets_bucket_name}/"])

  # Every environment variable the functions read (plait.cloud.service.settings.ENVIRONMENT_VARIABLES),
  # set on all four functions: each builds the same settings at start and checks them all.
  environment_variables = {
    PLAIT_SERVICE_SRUID              = local.sruid
    PLAIT_SERVICE_BUCKET             = google_storage_bucket.service.name
    PLAIT_DATASETS_BUCKET            = google_storage_bucket.datasets.name
    PLAIT_QUESTIONS_TOPIC            = google_pubsub_topic.questions.name
    PLAIT_ANALYSES_TOPIC             = google_pubsub_topic.analyses.name
    PLAIT_OUTPUT_LOCATION            = "gs://${google_storage_bucket.datasets.name}/${var.output_prefix}"
    PLAIT_SIGNING_ALLOWED_PREFIXES   = join(",", local.signing_allowed_prefixes)
    PLAIT_HEARTBEAT_INTERVAL         = tostring(var.heartbeat_interval_seconds)
    PLAIT_CLAIM_LEASE_SECONDS        = tostring(var.claim_lease_seconds)
    PLAIT_CANCELLATION_POLL_INTERVAL = tostring(var.cancellation_poll_interval_seconds)
    PLAIT_APP_DIRECTORY              = var.app_source_path
    PLAIT_TRANSPORT                  = "pubsub"
    # Cloud Functions (2nd gen, python311+) does not set it: plait's Pub/Sub transport needs it.
    GOOGLE_CLOUD_PROJECT = var.project
  }
}

data "google_project" "this" {
  project_id = var.project
}

# The service agents the triggers rely on.
data "google_storage_project_service_account" "gcs" {
  project = var.project

  depends_on = [google_project_service.apis]
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  gcs_service_agent    = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])

  project = var.project
  service = each.value

  # Other services in the project may use these APIs: destroying this revision leaves them on.
  disable_on_destroy         = false
  disable_dependent_services = false
}
