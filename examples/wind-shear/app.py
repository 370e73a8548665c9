"""Wind shear: a service that reads an input dataset and writes an output dataset.

Each file of the ``met_mast`` input dataset holds one anemometer's wind speeds and is tagged with
its ``height_m``. The app averages each file, fits the power law u(z) = u_ref * (z / z_ref)^alpha
by least squares on log-log values, and writes two tagged CSV files to the ``wind_profile``
output dataset: the measured mean profile and the fitted one.
"""

import csv
import logging
import math
import os
import statistics

from plait.essentials.monitor_messages import send_status_text
from plait.resources import Datafile

logger = logging.getLogger(__name__)


def mean_speed(path, minimum_speed):
    with open(path, newline="") as file:
        speeds = [float(row["wind_speed_m_s"]) for row in csv.DictReader(file)]
    kept = [speed for speed in speeds if speed >= minimum_speed]
    return statistics.fmean(kept)


def run(analysis):
    minimum_speed = (analysis.input_values or {}).get("minimum_speed_m_s", 0)
    met_mast = analysis.input_manifest.get_dataset("met_mast")
    files = met_mast.files.order_by("tags.height_m")
    send_status_text(analysis, f"Fitting wind shear to {len(files)} anemometers.", "wind-shear")

    heights, means = [], []
    for index, datafile in enumerate(files):
        heights.append(datafile.tags["height_m"])
        means.append(mean_speed(datafile.local_path, minimum_speed))
        analysis.send_monitor_message({"progress": (index + 1) / len(files)})
        logger.info("Mean wind speed at %s m: %.3f m/s", heights[-1], means[-1])

    log_heights = [math.log(height / heights[0]) for height in heights]
    log_means = [math.log(mean / means[0]) for mean in means]
    alpha = sum(x * y for x, y in zip(log_heights, log_means, strict=True)) / sum(x * x for x in log_heights)
    logger.info("Fitted shear exponent alpha = %.4f", alpha)

    profile = analysis.output_manifest.get_dataset("wind_profile")
    for kind, speeds in (
        ("measured_profile", means),
        ("fitted_profile", [means[0] * (height / heights[0]) ** alpha for height in heights]),
    ):
        path = os.path.join(profile.path, f"{kind}.csv")
        with Datafile(path, mode="w", tags={"kind": kind, "shear_exponent": alpha}, labels="wind profile") as (
            datafile,
            file,
        ):
            writer = csv.writer(file)
            writer.writerow(["height_m", "wind_speed_m_s"])
            writer.writerows(zip(heights, speeds, strict=True))
        profile.add(datafile)

    analysis.output_values = {"shear_exponent": alpha, "heights_m": heights, "mean_speeds_m_s": means}
