"""Raises the error it is asked for: a built-in one, one of its own, or a plait one."""

from plait.exceptions import InvalidTagException


class TurbineOverspeed(Exception):
    """An error type the parent cannot import."""


def spin(failure):
    if failure == "value_error":
        raise ValueError("The rotor speed must be positive.")
    if failure == "custom":
        raise TurbineOverspeed("The rotor is spinning at 42 rad/s.")
    raise InvalidTagException("The tag 'Bad Tag' is not valid.")


def run(analysis):
    spin(analysis.input_values["failure"])
