"""Question intake: Pub/Sub trigger on the service's questions topic (``plait.cloud.service.intake``)."""

import functions_framework

from plait.cloud.service.http import pubsub_endpoint
from plait.cloud.service.intake import handle_question


@functions_framework.http
def question_intake(request):
    return pubsub_endpoint(request, handle_question)
