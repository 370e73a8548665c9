"""Wind statistics: a values-only service.

Input: wind speeds measured at one height. Output: their summary statistics, and the mean
extrapolated to the configured reference height with the logarithmic wind profile
u(z) = u(z_m) * ln(z / z0) / ln(z_m / z0).
"""

import logging
import math
import statistics

from plait.essentials.monitor_messages import send_status_text

logger = logging.getLogger(__name__)


def run(analysis):
    speeds = analysis.input_values["speeds_m_s"]
    height = analysis.input_values["height_m"]
    roughness = analysis.configuration_values["roughness_length_m"]
    reference_height = analysis.configuration_values["reference_height_m"]

    send_status_text(analysis, f"Summarising {len(speeds)} wind speeds measured at {height} m.", "wind-statistics")
    mean = statistics.fmean(speeds)
    extrapolated = mean * math.log(reference_height / roughness) / math.log(height / roughness)
    logger.info("Mean %.3f m/s at %s m is %.3f m/s at %s m.", mean, height, extrapolated, reference_height)

    analysis.output_values = {
        "count": len(speeds),
        "mean_m_s": mean,
        "minimum_m_s": min(speeds),
        "maximum_m_s": max(speeds),
        "standard_deviation_m_s": statistics.pstdev(speeds),
        "mean_at_reference_height_m_s": extrapolated,
        "reference_height_m": reference_height,
    }
