"""Dataset finalisation: GCS object-finalized trigger on the datasets bucket (``plait.cloud.service.finalisation``)."""

import functions_framework

from plait.cloud.service.finalisation import finalise_object
from plait.cloud.service.http import storage_endpoint


@functions_framework.http
def dataset_finalisation(request):
    return storage_endpoint(request, finalise_object)
