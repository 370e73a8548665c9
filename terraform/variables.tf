# -- where --

variable "project" {
  description = "The Google Cloud project id to deploy into (6-30 characters: lowercase letters, digits, hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a Google Cloud project id: 6-30 lowercase letters, digits and hyphens, starting with a letter (e.g. my-research-project)."
  }
}

variable "region" {
  description = "The region of the functions, the buckets and the triggers (e.g. europe-west1)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1 (not a zone, not a multi-region)."
  }
}

# -- which service revision: its SRUID is <service_namespace>/<service_name>:<revision_tag> --

variable "service_namespace" {
  description = "The service's namespace (the first part of its SRUID): lowercase letters and digits with single hyphens between."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.service_namespace))
    error_message = "service_namespace must be lowercase letters and digits with single hyphens between (e.g. my-org)."
  }
}

variable "service_name" {
  description = "The service's name (as in its plait.yaml): lowercase letters and digits with single hyphens between."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.service_name))
    error_message = "service_name must be lowercase letters and digits with single hyphens between (e.g. wind-shear)."
  }
}

variable "revision_tag" {
  description = "The revision's tag: letters, digits and '_' with single '.' or '-' between, at most 128 characters (e.g. 1.0.0 or main-a1b2c3)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*$", var.revision_tag)) && length(var.revision_tag) <= 128
    error_message = "revision_tag must be letters, digits and '_' with single '.' or '-' between, at most 128 characters (e.g. 1.0.0)."
  }
}

# -- what --

variable "source_archive" {
  description = "Path of the source archive built by `plait package SERVICE_DIR --output build/<name>.zip`. Its SHA-256 names the uploaded object, so a changed archive redeploys the functions and an unchanged one does not."
  type        = string

  validation {
    condition     = can(regex("\\.zip$", var.source_archive)) && fileexists(var.source_archive)
    error_message = "source_archive must name an existing .zip built by `plait package` (run it first: plait package examples/wind-shear --output build/wind-shear.zip)."
  }
}

variable "app_source_path" {
  description = "The directory in the source archive holding plait.yaml, the app and its twine (PLAIT_APP_DIRECTORY). `plait package` puts the service in service/."
  type        = string
  default     = "service"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$", var.app_source_path)) && !can(regex("(^|/)\\.\\.(/|$)", var.app_source_path))
    error_message = "app_source_path must be a relative path inside the archive, without '..' (e.g. service)."
  }
}

variable "runtime" {
  description = "The Cloud Functions Python runtime (python311 or newer)."
  type        = string
  default     = "python311"

  validation {
    condition     = can(regex("^python3(1[1-9])$", var.runtime))
    error_message = "runtime must be python311 or a newer Python runtime (python312, python313, ...): plait needs Python 3.11."
  }
}

variable "functions" {
  description = <<-EOT
    Resources of each function: memory (e.g. "512Mi", "1Gi"), cpu (null: chosen from the memory),
    timeout_seconds (at most 540 for the event-triggered functions, 3600 for signed_urls),
    max_instances, min_instances and concurrency (requests per instance; more than 1 needs cpu >= 1).
    Give only what differs from the defaults, e.g. { analysis_runner = { memory = "4Gi", cpu = "2" } }.
  EOT
  type = object({
    question_intake = optional(object({
      memory          = optional(string, "512Mi")
      cpu             = optional(string)
      timeout_seconds = optional(number, 60)
      max_instances   = optional(number, 10)
      min_instances   = optional(number, 0)
      concurrency     = optional(number, 1)
    }), {})
    analysis_runner = optional(object({
      memory          = optional(string, "1Gi")
      cpu             = optional(string)
      timeout_seconds = optional(number, 540)
      max_instances   = optional(number, 10)
      min_instances   = optional(number, 0)
      concurrency     = optional(number, 1)
    }), {})
    dataset_finalisation = optional(object({
      memory          = optional(string, "512Mi")
      cpu             = optional(string)
      timeout_seconds = optional(number, 540)
      max_instances   = optional(number, 20)
      min_instances   = optional(number, 0)
      concurrency     = optional(number, 1)
    }), {})
    signed_urls = optional(object({
      memory          = optional(string, "512Mi")
      cpu             = optional(string)
      timeout_seconds = optional(number, 60)
      max_instances   = optional(number, 10)
      min_instances   = optional(number, 0)
      concurrency     = optional(number, 1)
    }), {})
  })
  default = {}

  validation {
    condition     = alltrue([for settings in values(var.functions) : can(regex("^[0-9]+(M|Mi|G|Gi)$", settings.memory))])
    error_message = "Each function's memory must be a size such as 256Mi, 512Mi, 1Gi or 2Gi."
  }

  validation {
    condition = alltrue([
      for name, settings in var.functions : settings.timeout_seconds >= 1 && settings.timeout_seconds <= (name == "signed_urls" ? 3600 : 540)
    ])
    error_message = "timeout_seconds must be 1-540 for the event-triggered functions and 1-3600 for signed_urls."
  }

  validation {
    condition = alltrue([
      for settings in values(var.functions) : settings.max_instances >= 1 && settings.max_instances <= 1000 && settings.min_instances >= 0 && settings.min_instances <= settings.max_instances
    ])
    error_message = "Each function needs 1 <= max_instances <= 1000 and 0 <= min_instances <= max_instances."
  }

  validation {
    condition = alltrue([
      for settings in values(var.functions) : settings.concurrency >= 1 && settings.concurrency <= 1000 && (settings.concurrency == 1 || try(tonumber(settings.cpu) >= 1, false))
    ])
    error_message = "concurrency must be 1-1000, and more than 1 only with cpu of at least 1."
  }

  validation {
    condition     = alltrue([for settings in values(var.functions) : settings.cpu == null || can(tonumber(settings.cpu))])
    error_message = "cpu must be null or a number of CPUs as text (e.g. \"1\" or \"2\")."
  }
}

# -- service behaviour (plait.cloud.service.settings) --

variable "heartbeat_interval_seconds" {
  description = "Seconds between heartbeats while an analysis runs (PLAIT_HEARTBEAT_INTERVAL)."
  type        = number
  default     = 30

  validation {
    condition     = var.heartbeat_interval_seconds > 0 && var.heartbeat_interval_seconds <= 300
    error_message = "heartbeat_interval_seconds must be more than 0 and at most 300."
  }
}

variable "claim_lease_seconds" {
  description = "Seconds a runner's claim on a question lasts without renewal (PLAIT_CLAIM_LEASE_SECONDS); must be longer than the heartbeat interval, which renews it."
  type        = number
  default     = 90

  # Longer than heartbeat_interval_seconds too: checked by a precondition of the analysis runner
  # (a validation may refer to other variables only from Terraform 1.9).
  validation {
    condition     = var.claim_lease_seconds > 0 && var.claim_lease_seconds <= 3600
    error_message = "claim_lease_seconds must be more than 0 and at most 3600."
  }
}

variable "cancellation_poll_interval_seconds" {
  description = "Seconds between checks for a cancellation while an analysis runs (PLAIT_CANCELLATION_POLL_INTERVAL)."
  type        = number
  default     = 2

  validation {
    condition     = var.cancellation_poll_interval_seconds > 0 && var.cancellation_poll_interval_seconds <= 300
    error_message = "cancellation_poll_interval_seconds must be more than 0 and at most 300."
  }
}

variable "output_prefix" {
  description = "Where in the datasets bucket output datasets go (PLAIT_OUTPUT_LOCATION is gs://<datasets bucket>/<output_prefix>)."
  type        = string
  default     = "outputs"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.output_prefix)) && !can(regex("(^|/)\\.\\.?(/|$)", var.output_prefix))
    error_message = "output_prefix must be a relative object path such as outputs (no leading or trailing '/', no '.' or '..')."
  }
}

variable "signing_allowed_prefixes" {
  description = "gs:// prefixes the signed-URL function may sign (PLAIT_SIGNING_ALLOWED_PREFIXES). Empty: the whole datasets bucket. The signed-URL account can read only the datasets bucket: grant it roles/storage.objectViewer on any other bucket listed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for prefix in var.signing_allowed_prefixes : can(regex("^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$", prefix))])
    error_message = "Each signing prefix must be a gs:// path such as gs://my-bucket/ or gs://my-bucket/datasets/."
  }
}

# -- who may use it --

variable "signed_urls_invokers" {
  description = "IAM members allowed to call the signed-URL function (e.g. [\"user:ada@example.org\", \"group:research@example.org\"]). Never allUsers or allAuthenticatedUsers."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.signed_urls_invokers : !contains(["allUsers", "allAuthenticatedUsers"], member) && can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", member))])
    error_message = "signed_urls_invokers must be IAM members such as user:ada@example.org or group:research@example.org; allUsers and allAuthenticatedUsers are refused."
  }
}

variable "signed_urls_ingress" {
  description = "Where the signed-URL function accepts requests from: ALLOW_ALL (default; IAM still decides who), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.signed_urls_ingress)
    error_message = "signed_urls_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "question_askers" {
  description = "IAM members allowed to ask the service: publish to the questions topic, read the answers topic and read and write objects in the datasets bucket. They also need to create subscriptions in the project (e.g. roles/pubsub.editor), which this module does not grant."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.question_askers : !contains(["allUsers", "allAuthenticatedUsers"], member) && can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", member))])
    error_message = "question_askers must be IAM members such as user:ada@example.org; allUsers and allAuthenticatedUsers are refused."
  }
}

variable "additional_reply_to_topics" {
  description = "Other topics (projects/<project>/topics/<name>) questions may name as reply_to, e.g. the answers topic of a parent service in another project; intake and the runner may publish to them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for topic in var.additional_reply_to_topics : can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", topic))])
    error_message = "additional_reply_to_topics must be full topic names: projects/<project>/topics/<name>."
  }
}

# -- storage --

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets even when they hold objects (datasets, question records). Off by default: destroying a revision keeps its data."
  type        = bool
  default     = false
}

variable "diagnostics_retention_days" {
  description = "Days crash diagnostics (diagnostics/ in the service bucket) are kept."
  type        = number
  default     = 30

  validation {
    condition     = var.diagnostics_retention_days >= 1 && var.diagnostics_retention_days <= 3650
    error_message = "diagnostics_retention_days must be 1-3650."
  }
}

variable "question_record_retention_days" {
  description = "Days question records (questions/ in the service bucket) are kept; 0 keeps them forever."
  type        = number
  default     = 0

  validation {
    condition     = var.question_record_retention_days >= 0 && var.question_record_retention_days <= 36500
    error_message = "question_record_retention_days must be 0 (forever) to 36500."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object's old version is kept in the (versioned) datasets bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 3650
    error_message = "noncurrent_version_retention_days must be 1-3650."
  }
}

variable "datasets_bucket_name" {
  description = "The datasets bucket's name (default: <prefix>-datasets). Bucket names are global: pick another if it is taken."
  type        = string
  default     = null

  validation {
    condition     = var.datasets_bucket_name == null || can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.datasets_bucket_name))
    error_message = "datasets_bucket_name must be 3-63 lowercase letters, digits, '-' and '_', starting and ending with a letter or digit."
  }
}

variable "service_bucket_name" {
  description = "The service bucket's name (default: <prefix>-service)."
  type        = string
  default     = null

  validation {
    condition     = var.service_bucket_name == null || can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.service_bucket_name))
    error_message = "service_bucket_name must be 3-63 lowercase letters, digits, '-' and '_', starting and ending with a letter or digit."
  }
}

variable "sources_bucket_name" {
  description = "The bucket the source archive is uploaded to (default: <prefix>-sources)."
  type        = string
  default     = null

  validation {
    condition     = var.sources_bucket_name == null || can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.sources_bucket_name))
    error_message = "sources_bucket_name must be 3-63 lowercase letters, digits, '-' and '_', starting and ending with a letter or digit."
  }
}

variable "resource_prefix" {
  description = "Prefix of the functions' and buckets' names (default: <name>-<revision tag>, made name-safe and cut to 20 characters, then 6 hex digits of a hash of the project and SRUID)."
  type        = string
  default     = null

  validation {
    condition     = var.resource_prefix == null || can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.resource_prefix))
    error_message = "resource_prefix must be 2-28 lowercase letters, digits and hyphens, starting with a letter."
  }
}

# -- messaging --

variable "max_delivery_attempts" {
  description = "Deliveries of a message to intake or the runner before it is dead-lettered (used by the dead_letter_setup output's commands)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be 5-100 (Pub/Sub's limits)."
  }
}

variable "dead_letter_retention_days" {
  description = "Days dead-lettered messages are kept in the dead-letter subscription."
  type        = number
  default     = 7

  validation {
    condition     = var.dead_letter_retention_days >= 1 && var.dead_letter_retention_days <= 31
    error_message = "dead_letter_retention_days must be 1-31 (Pub/Sub's limits)."
  }
}

variable "kms_key_name" {
  description = "A Cloud KMS key (projects/.../cryptoKeys/...) to encrypt the topics with (the Pub/Sub service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it); null: Google-managed encryption."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels added to every bucket, topic and function (plait-namespace, plait-service and plait-revision are always set)."
  type        = map(string)
  default     = {}
}
