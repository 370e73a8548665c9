"""Analysis runner: Pub/Sub trigger on the service's analyses topic (``plait.cloud.service.answering``)."""

import functions_framework

from plait.cloud.service.answering import answer_question
from plait.cloud.service.http import pubsub_endpoint


@functions_framework.http
def analysis_runner(request):
    return pubsub_endpoint(request, answer_question)
