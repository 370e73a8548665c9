# The datasets bucket (input and output datasets; finalisation runs on it), the service bucket
# (question records, claims, answers, crash diagnostics) and the sources bucket (the function
# source archives `plait package` builds). All three: uniform bucket-level access, public access
# prevention enforced, force_destroy only if var.force_destroy says so.

resource "google_storage_bucket" "datasets" {
  #checkov:skip=CKV_GCP_62:Access logs: use Cloud Audit Logs (Data Access logs for Cloud Storage), as docs/deploy.md explains; legacy usage-log buckets are not wanted here.
  project                     = var.project
  name                        = local.datasets_bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = local.labels

  # Datasets are the service's inputs and outputs: an overwritten or deleted object can be recovered.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "service" {
  #checkov:skip=CKV_GCP_62:Access logs: use Cloud Audit Logs (Data Access logs for Cloud Storage), as docs/deploy.md explains; legacy usage-log buckets are not wanted here.
  #checkov:skip=CKV_GCP_78:Not versioned on purpose: every write here is guarded by a generation precondition (claims are renewed with each heartbeat), so versions would only pile up stale claims; the datasets bucket is versioned.
  project                     = var.project
  name                        = local.service_bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = local.labels

  # Crash diagnostics (inputs and logs of a failed analysis) are kept for a while, then deleted.
  lifecycle_rule {
    condition {
      age            = var.diagnostics_retention_days
      matches_prefix = ["diagnostics/"]
    }
    action {
      type = "Delete"
    }
  }

  # Question records (questions/<uuid>/...): kept forever unless a retention is set.
  dynamic "lifecycle_rule" {
    for_each = var.question_record_retention_days > 0 ? [var.question_record_retention_days] : []
    content {
      condition {
        age            = lifecycle_rule.value
        matches_prefix = ["questions/"]
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Access logs: use Cloud Audit Logs (Data Access logs for Cloud Storage), as docs/deploy.md explains; legacy usage-log buckets are not wanted here.
  #checkov:skip=CKV_GCP_78:Not versioned on purpose: source archives are named by their content hash and never overwritten.
  project                     = var.project
  name                        = local.sources_bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = local.labels

  depends_on = [google_project_service.apis]
}

# The archive `plait package` built, named by its content hash: a new archive is a new object, and
# only a new object makes Terraform rebuild and redeploy the functions.
resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.sources.name
  name         = "${var.service_name}-${filesha256(var.source_archive)}.zip"
  source       = var.source_archive
  content_type = "application/zip"
}
