"""Works for ``seconds``, appending a line to ``progress_file`` every 50 ms (a cancelled run stops appending)."""

import time


def run(analysis):
    deadline = time.monotonic() + analysis.input_values["seconds"]
    steps = 0
    while time.monotonic() < deadline:
        with open(analysis.input_values["progress_file"], "a", encoding="utf-8") as file:
            file.write(f"{steps}\n")
        steps += 1
        time.sleep(0.05)
    analysis.output_values = {"steps": steps}
