"""Signed-URL generation: HTTP trigger (``plait.cloud.service.signing``)."""

import functions_framework

from plait.cloud.service.http import signing_endpoint


@functions_framework.http
def signed_urls(request):
    return signing_endpoint(request)
