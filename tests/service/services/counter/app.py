"""Counts its runs: each run appends the question's UUID to ``counter_file``, then sleeps ``sleep_s``."""

import time


def run(analysis):
    with open(analysis.input_values["counter_file"], "a", encoding="utf-8") as file:
        file.write(analysis.id + "\n")
    time.sleep(analysis.input_values.get("sleep_s", 0))
    analysis.output_values = {"question_uuid": analysis.id}
