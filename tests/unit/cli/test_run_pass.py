"""`run --once` counts every file outcome in its pass summary, and a file that needs a person
(quarantined, a duplicate, failed on a fault of ours) makes it exit 1 for cron; one applied or
recovered (taken in before a crash) does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.run import pass_counts, pass_exit_code
from gateway.service.pipeline import FileOutcome
from gateway.service.runner import PassSummary


def outcome(status: str, *, quarantined: bool = False) -> FileOutcome:
    found = FileOutcome("harborview", f"{status}.x12", f"in/{status}.x12", status=status)
    found.quarantined = Path("quarantine") / found.name if quarantined else None
    return found


@pytest.mark.parametrize(
    ("status", "quarantined", "code"),
    [
        ("applied", False, 0),
        ("recovered", False, 0),
        ("quarantined", True, 1),
        ("duplicate", True, 1),
        ("duplicate", False, 1),  # however it was put aside, a duplicate needs a person
        ("failed", True, 1),
        ("failed", False, 1),
    ],
)
def test_a_file_that_needs_a_person_makes_the_pass_exit_1(status, quarantined, code):
    summary = PassSummary(files=[outcome("applied"), outcome(status, quarantined=quarantined)])
    assert pass_exit_code(summary) == code


def test_the_summary_counts_each_outcome():
    summary = PassSummary(
        files=[
            outcome("applied"),
            outcome("applied"),
            outcome("quarantined", quarantined=True),
            outcome("duplicate", quarantined=True),
            outcome("failed", quarantined=True),
            outcome("recovered"),
        ],
        unreachable={"pinecrest": "connection refused"},
    )
    counts = pass_counts(summary)
    assert {k: counts[k] for k in ("files", "applied", "quarantined", "duplicates", "failed")} == {
        "files": 6,
        "applied": 2,
        "quarantined": 1,
        "duplicates": 1,
        "failed": 1,
    }
    assert counts["recovered"] == 1 and counts["unreachable"] == ["pinecrest"]
    assert (counts["webhooks_delivered"], counts["webhooks_retrying"]) == (0, 0)


def test_the_store_unavailable_is_75_whatever_else_happened():
    summary = PassSummary(files=[outcome("failed")], store_unavailable="database is locked")
    assert pass_exit_code(summary) == 75
