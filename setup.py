"""Packaging beyond what pyproject.toml can say. Two top-level directories ship inside the
distribution: ``functions/`` as the ``plait.functions`` package (DESIGN.md: ``plait package`` builds
a deployable archive from an installed wheel) and ``examples/`` as data in ``plait.examples`` (so
``plait demo`` works from any installed copy). Everything else, package data included, is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages("shared", include=["plait", "plait.*"]), "plait.functions", "plait.examples"],
    package_dir={"": "shared", "plait.functions": "functions", "plait.examples": "examples"},
)
