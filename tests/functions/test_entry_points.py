"""functions/main.py exposes the four entry points as functions-framework finds them."""

import os

import functions_framework
import pytest

import plait.functions
from plait.functions import main

ENTRY_POINTS = ("question_intake", "analysis_runner", "dataset_finalisation", "signed_urls")


def test_main_names_the_four_entry_points():
    assert sorted(main.ENTRY_POINTS) == sorted(ENTRY_POINTS)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_functions_framework_finds_each_entry_point_in_main(entry_point):
    source = os.path.join(os.path.dirname(plait.functions.__file__), "main.py")

    app = functions_framework.create_app(target=entry_point, source=source, signature_type="http")

    assert app.name == entry_point
    assert callable(getattr(main, entry_point))
