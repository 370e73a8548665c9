"""`terraform fmt -check` and checkov over terraform/.

`terraform` runs wherever it is on PATH (it is on the development and CI machines; only `fmt` is
used, which needs no provider). checkov is heavy and pins its own dependencies, so it is not in the
dev extra: it runs when it is on PATH or ``PLAIT_CHECKOV`` names it. `.ci/run` installs it in a
virtualenv of its own and sets ``PLAIT_CHECKOV``, so under ``CI=true`` a missing checkov fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERRAFORM = os.path.join(REPOSITORY, "terraform")
IN_CI = os.environ.get("CI") == "true"


def test_terraform_files_are_formatted():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: `terraform fmt -check` cannot run here")
    completed = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "terraform"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{completed.stdout}{completed.stderr}"


def _checkov() -> str:
    checkov = os.environ.get("PLAIT_CHECKOV") or shutil.which("checkov")
    if checkov and os.access(checkov, os.X_OK):
        return checkov
    if IN_CI:
        pytest.fail("checkov is required under CI=true: .ci/run installs it and sets PLAIT_CHECKOV", pytrace=False)
    pytest.skip("checkov is not installed (pip install checkov in a virtualenv of its own, then set PLAIT_CHECKOV)")


@pytest.mark.timeout(600)
def test_checkov_finds_no_failed_check():
    completed = subprocess.run(
        [_checkov(), "-d", "terraform", "--framework", "terraform", "--skip-download", "--compact", "-o", "json"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert completed.stdout.strip(), f"checkov printed nothing (exit {completed.returncode}):\n{completed.stderr}"
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(len(report.get("results", {}).get("passed_checks", [])) for report in reports)
    assert not failed, "checkov failed checks (fix them, or skip inline with a reason):\n" + "\n".join(failed)
    assert passed > 0, "checkov checked nothing"
    for report in reports:
        for check in report.get("results", {}).get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment") or ""
            assert len(reason.strip()) > 30, f"{check['check_id']} on {check['resource']} is skipped without a reason"
    assert completed.returncode == 0, completed.stderr
