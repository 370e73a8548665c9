"""Cloud storage: ``gs://`` paths, the storage client, and reading signed URLs."""

from plait.cloud.storage.client import GoogleCloudStorageClient

__all__ = ["GoogleCloudStorageClient"]
