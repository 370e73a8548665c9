"""The README stays true to the code: every environment variable the functions read is listed."""

import pathlib

from plait.cloud.service.settings import ENVIRONMENT_VARIABLES

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text()


def test_readme_lists_every_environment_variable_the_functions_read():
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in README]
    assert missing == []


def test_readme_quick_start_has_exactly_two_commands():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in quick_start.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert commands[0].endswith("plait demo")
