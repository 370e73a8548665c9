# The revision's topics, named as plait derives them from the SRUID:
# plait.<namespace>.<name>.<revision tag>.<questions|analyses|answers|dead-letter>.

resource "google_pubsub_topic" "questions" {
  #checkov:skip=CKV_GCP_83:Encrypted with Google-managed keys; set var.kms_key_name for a customer-managed key.
  project      = var.project
  name         = local.topic_names.questions
  labels       = local.labels
  kms_key_name = var.kms_key_name

  lifecycle {
    precondition {
      condition     = length(local.topic_names.dead_letter) <= 255
      error_message = "The topic names plait.<namespace>.<name>.<revision tag>.<kind> would exceed Pub/Sub's 255 characters: shorten the namespace, name or revision tag."
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "analyses" {
  #checkov:skip=CKV_GCP_83:Encrypted with Google-managed keys; set var.kms_key_name for a customer-managed key.
  project      = var.project
  name         = local.topic_names.analyses
  labels       = local.labels
  kms_key_name = var.kms_key_name

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "answers" {
  #checkov:skip=CKV_GCP_83:Encrypted with Google-managed keys; set var.kms_key_name for a customer-managed key.
  project      = var.project
  name         = local.topic_names.answers
  labels       = local.labels
  kms_key_name = var.kms_key_name

  depends_on = [google_project_service.apis]
}

# Deliveries to intake or the runner that failed var.max_delivery_attempts times end up here (once
# the trigger subscriptions have their dead-letter policy: see output "dead_letter_setup").
resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Encrypted with Google-managed keys; set var.kms_key_name for a customer-managed key.
  project      = var.project
  name         = local.topic_names.dead_letter
  labels       = local.labels
  kms_key_name = var.kms_key_name

  depends_on = [google_project_service.apis]
}

# A message published to a topic with no subscription is dropped: this keeps dead letters for
# people to inspect (`gcloud pubsub subscriptions pull`) for var.dead_letter_retention_days.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project
  name                       = local.topic_names.dead_letter
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "${var.dead_letter_retention_days * 86400}s"
  retain_acked_messages      = false

  # Never expires, however long nobody reads it.
  expiration_policy {
    ttl = ""
  }
}
