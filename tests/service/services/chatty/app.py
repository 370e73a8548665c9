"""Logs at every level, sends numbered monitor messages, counts the files of an optional input
dataset and writes a one-file output dataset."""

import logging
import os

from plait.resources import Datafile

logger = logging.getLogger(__name__)


def run(analysis):
    logger.debug("chatty debug message")
    logger.info("chatty info message")
    logger.warning("chatty warning message")
    logger.error("chatty error message")
    for step in range(analysis.input_values["monitor_messages"]):
        analysis.send_monitor_message({"step": step})

    input_files = None
    if analysis.input_manifest is not None and "data" in analysis.input_manifest.datasets:
        input_files = len(analysis.input_manifest.get_dataset("data").files)

    report = analysis.output_manifest.get_dataset("report")
    with Datafile(os.path.join(report.path, "report.txt"), mode="w", tags={"step_count": 1}) as (datafile, file):
        file.write("chatty was here\n")
    report.add(datafile)
    analysis.output_values = {"input_files": input_files, "question_uuid": analysis.id}
