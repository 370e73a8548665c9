"""The four entry points, as Cloud Functions (and functions-framework) find them: ``--target <name>``.

Each module imports only what its function needs, so importing one entry point stays cheap.
"""

from plait.functions.analysis_runner import analysis_runner
from plait.functions.dataset_finalisation import dataset_finalisation
from plait.functions.question_intake import question_intake
from plait.functions.signed_urls import signed_urls

__all__ = ["analysis_runner", "dataset_finalisation", "question_intake", "signed_urls"]

#: The entry points' names, as Terraform and the local stack use them.
ENTRY_POINTS = tuple(__all__)
