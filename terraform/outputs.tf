output "sruid" {
  description = "The deployed service revision: namespace/name:revision_tag (ask it with `plait ask <sruid> --project <project> --cloud`)."
  value       = local.sruid
}

output "questions_topic" {
  description = "The topic questions and cancellations are published to."
  value       = google_pubsub_topic.questions.name
}

output "analyses_topic" {
  description = "The topic intake dispatches validated questions to."
  value       = google_pubsub_topic.analyses.name
}

output "answers_topic" {
  description = "The topic the service answers on (the default reply_to)."
  value       = google_pubsub_topic.answers.name
}

output "dead_letter_topic" {
  description = "The topic deliveries that kept failing are forwarded to."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "The subscription keeping dead letters (read with `gcloud pubsub subscriptions pull`)."
  value       = google_pubsub_subscription.dead_letter.name
}

output "datasets_bucket" {
  description = "The datasets bucket: upload input datasets here; outputs go to gs://<bucket>/<output_prefix>."
  value       = google_storage_bucket.datasets.name
}

output "service_bucket" {
  description = "The service bucket: question records, claims, answers and crash diagnostics."
  value       = google_storage_bucket.service.name
}

output "sources_bucket" {
  description = "The bucket holding the deployed source archives."
  value       = google_storage_bucket.sources.name
}

output "source_object" {
  description = "The deployed source archive's object (named by its SHA-256)."
  value       = google_storage_bucket_object.source.name
}

output "signed_urls_url" {
  description = "The signed-URL function's URL (call it with an identity token: curl -H \"Authorization: Bearer $(gcloud auth print-identity-token)\" \"<url>?path=gs://...\")."
  value       = google_cloudfunctions2_function.signed_urls.service_config[0].uri
}

output "functions" {
  description = "The four functions' names, by entry point."
  value = {
    question_intake      = google_cloudfunctions2_function.question_intake.name
    analysis_runner      = google_cloudfunctions2_function.analysis_runner.name
    dataset_finalisation = google_cloudfunctions2_function.dataset_finalisation.name
    signed_urls          = google_cloudfunctions2_function.signed_urls.name
  }
}

output "service_accounts" {
  description = "The runtime service account of each function."
  value = {
    question_intake      = google_service_account.question_intake.email
    analysis_runner      = google_service_account.analysis_runner.email
    dataset_finalisation = google_service_account.dataset_finalisation.email
    signed_urls          = google_service_account.signed_urls.email
  }
}

output "environment_variables" {
  description = "The environment variables every function runs with."
  value       = local.environment_variables
}

# Eventarc makes the push subscription of each Pub/Sub trigger itself, and event_trigger has no
# dead-letter argument, so the dead-letter policy is set on those subscriptions after they exist:
# `terraform output -raw dead_letter_setup | bash` (again whenever a trigger is recreated).
output "dead_letter_setup" {
  description = "Shell commands (gcloud) that give the intake and runner trigger subscriptions their dead-letter policy; run them after each apply that creates or recreates a function."
  value = join("\n", concat(
    ["set -euo pipefail"],
    flatten([
      for trigger in [
        google_cloudfunctions2_function.question_intake.event_trigger[0].trigger,
        google_cloudfunctions2_function.analysis_runner.event_trigger[0].trigger,
        ] : [
        "subscription=$(gcloud eventarc triggers describe '${trigger}' --project='${var.project}' --location='${var.region}' --format='value(transport.pubsub.subscription)')",
        "gcloud pubsub subscriptions update \"$subscription\" --dead-letter-topic='${google_pubsub_topic.dead_letter.id}' --max-delivery-attempts=${var.max_delivery_attempts}",
        "gcloud pubsub subscriptions add-iam-policy-binding \"$subscription\" --member='${local.pubsub_service_agent}' --role=roles/pubsub.subscriber >/dev/null",
        "echo \"dead-letter policy set on $subscription\"",
      ]
    ]),
  ))
}
