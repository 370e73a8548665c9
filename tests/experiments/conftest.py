"""Fixtures for the experiments API: every rule runs on a local directory and on the storage emulator."""

from __future__ import annotations

import pytest
from experiment_services import EXAMPLES, copy_service, running_stack

from plait.experiments import API


@pytest.fixture(params=["local", "cloud"])
def location(request, tmp_path) -> str:
    """A fresh experiments location: a local directory, or a ``gs://`` prefix in the storage emulator."""
    if request.param == "local":
        return str(tmp_path / "experiments")
    return request.getfixturevalue("cloud_root")


@pytest.fixture
def api(location) -> API:
    return API(location)


@pytest.fixture
def local_api(tmp_path) -> API:
    """An API on a local directory only (for process-level and crash behaviour)."""
    return API(str(tmp_path / "experiments"))


@pytest.fixture(scope="module")
def wind_statistics_stack(tmp_path_factory):
    """The wind-statistics example (with an experiment variable) running on a local stack for the module."""
    directory = copy_service(
        EXAMPLES / "wind-statistics", tmp_path_factory.mktemp("services") / "wind-statistics", experiment_variable=True
    )
    with running_stack(directory, heartbeat_interval=0.5) as stack:
        yield stack
