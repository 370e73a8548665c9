terraform {
  # optional() object attributes with defaults.
  required_version = ">= 1.3"

  required_providers {
    google = {
      source = "hashicorp/google"
      # build_config.service_account of google_cloudfunctions2_function needs 5.x.
      version = ">= 5.30, < 7"
    }
  }
}
