# One runtime service account per function, one trigger account per event-triggered function (the
# identity Eventarc invokes it as), and one account for Cloud Build to build the functions with.
# Account ids must be 6-30 characters: "plait-<8 hex digits of the SRUID's hash>-<role>".

resource "google_service_account" "question_intake" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-intake"
  display_name = "plait question intake: ${local.sruid}"
  description  = "Runs the question intake function of ${local.sruid}."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "analysis_runner" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-runner"
  display_name = "plait analysis runner: ${local.sruid}"
  description  = "Runs the analysis runner function of ${local.sruid}."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "dataset_finalisation" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-finalise"
  display_name = "plait dataset finalisation: ${local.sruid}"
  description  = "Runs the dataset finalisation function of ${local.sruid}."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "signed_urls" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-signer"
  display_name = "plait signed URLs: ${local.sruid}"
  description  = "Runs the signed-URL function of ${local.sruid}."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "question_intake_trigger" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-intake-ev"
  display_name = "plait question intake trigger: ${local.sruid}"
  description  = "Eventarc delivers the questions topic's messages to question intake as this account."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "analysis_runner_trigger" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-runner-ev"
  display_name = "plait analysis runner trigger: ${local.sruid}"
  description  = "Eventarc delivers the analyses topic's messages to the analysis runner as this account."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "dataset_finalisation_trigger" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-finalise-ev"
  display_name = "plait dataset finalisation trigger: ${local.sruid}"
  description  = "Eventarc delivers the datasets bucket's object-finalized events to dataset finalisation as this account."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "build" {
  project      = var.project
  account_id   = "plait-${local.id_hash}-build"
  display_name = "plait function builds: ${local.sruid}"
  description  = "Cloud Build builds the functions of ${local.sruid} as this account."
  depends_on   = [google_project_service.apis]
}
