# Deploys the example wind-shear service (examples/wind-shear) with the plait module.
#
#   plait package examples/wind-shear --output build/wind-shear.zip     # from the repository root
#   cd terraform/examples/wind-shear
#   terraform init
#   terraform apply -var project=my-project
#   terraform output -raw dead_letter_setup | bash
#
# See docs/deploy.md for the whole walk-through, from an empty project.

terraform {
  required_version = ">= 1.3"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.30, < 7"
    }
  }

  # Keep the state somewhere shared for real use, e.g.:
  # backend "gcs" {
  #   bucket = "my-project-terraform-state"
  #   prefix = "plait/example/wind-shear"
  # }
}

variable "project" {
  description = "The Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "The region of the functions and buckets."
  type        = string
  default     = "europe-west1"
}

variable "revision_tag" {
  description = "The revision to deploy (example/wind-shear:<revision_tag>)."
  type        = string
  default     = "0.1.0"
}

variable "source_archive" {
  description = "The archive built by `plait package examples/wind-shear --output build/wind-shear.zip` (relative to this directory)."
  type        = string
  default     = "../../../build/wind-shear.zip"
}

variable "askers" {
  description = "Who may ask the service and call its signed-URL function (e.g. [\"user:ada@example.org\"])."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets with everything in them (for a throwaway trial)."
  type        = bool
  default     = false
}

provider "google" {
  project = var.project
  region  = var.region
}

module "wind_shear" {
  source = "../.."

  project           = var.project
  region            = var.region
  service_namespace = "example"
  service_name      = "wind-shear"
  revision_tag      = var.revision_tag
  source_archive    = var.source_archive

  question_askers      = var.askers
  signed_urls_invokers = var.askers
  force_destroy        = var.force_destroy

  functions = {
    analysis_runner = { memory = "1Gi", timeout_seconds = 300, max_instances = 5 }
  }
}

output "sruid" {
  description = "Ask it with: plait ask <sruid> --project <project> --cloud ..."
  value       = module.wind_shear.sruid
}

output "datasets_bucket" {
  description = "Upload input datasets here."
  value       = module.wind_shear.datasets_bucket
}

output "service_bucket" {
  description = "Question records, answers and crash diagnostics."
  value       = module.wind_shear.service_bucket
}

output "topics" {
  description = "The revision's topics."
  value = {
    questions   = module.wind_shear.questions_topic
    analyses    = module.wind_shear.analyses_topic
    answers     = module.wind_shear.answers_topic
    dead_letter = module.wind_shear.dead_letter_topic
  }
}

output "signed_urls_url" {
  description = "The signed-URL function's URL."
  value       = module.wind_shear.signed_urls_url
}

output "dead_letter_setup" {
  description = "Run once after each apply that creates a function: terraform output -raw dead_letter_setup | bash"
  value       = module.wind_shear.dead_letter_setup
}
