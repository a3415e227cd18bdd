"""The `gateway` command as a user runs it: lines, JSON, exit codes, and never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "samples" / "850" / "850_004010_good.x12"
BAD = ROOT / "samples" / "850" / "850_004010_bad_SE01_count.x12"
FIVE = ROOT / "samples" / "850" / "850_005010_bad_BEG03_missing.x12"
MIXED = ROOT / "samples" / "850" / "850_two_interchanges_mixed_delimiters.x12"


def gateway(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_check_accepts_a_good_file_with_its_counts():
    result = gateway("check", GOOD)
    assert result.returncode == 0
    assert result.stdout == f"{GOOD}: accepted (1 interchanges, 1 groups, 1 transaction sets)\n"


def test_check_rejects_a_bad_file_with_code_line_segment_and_element():
    result = gateway("check", GOOD, BAD)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("accepted (1 interchanges, 1 groups, 1 transaction sets)")
    assert lines[1] == (
        f"{BAD}: rejected: AK502:4 at line 27, segment 27 (SE01): SE01 says '26' segments, "
        "the transaction set has 25"
    )


def test_check_json_has_the_documented_shape():
    result = gateway("check", "--json", FIVE, MIXED)
    assert result.returncode == 1
    first, second = json.loads(result.stdout)
    assert set(first) >= {"file", "accepted", "interchanges", "transactions", "errors"}
    assert first["accepted"] is False
    assert first["transactions"] == [
        {"set": "850", "version": "005010", "control": "0001", "accepted": False}
    ]
    error = next(e for e in first["errors"] if e["code"] == "AK403:1")
    assert error == {
        "code": "AK403:1",
        "line": 4,
        "segment_index": 4,
        "segment_id": "BEG",
        "element": 3,
        "message": "mandatory element BEG03 (324) is missing",
    }
    assert second["accepted"] is True and second["interchanges"] == 2
    assert [t["version"] for t in second["transactions"]] == ["004010", "005010"]


def test_missing_file_is_a_usage_error():
    result = gateway("check", ROOT / "no-such-file.x12")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "does not exist" in result.stderr


def test_unknown_command_and_option_are_usage_errors():
    assert gateway("frobnicate").returncode == 2
    assert gateway("check", "--nope", GOOD).returncode == 2
    assert gateway("ack-file", "--format", "998", GOOD).returncode == 2


def test_not_x12_at_all_is_rejected_without_a_traceback(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(3000))
    result = gateway("check", junk)
    assert result.returncode == 1
    assert "rejected: TA105:022" in result.stdout
    assert "Traceback" not in result.stderr
    ack = gateway("ack-file", junk)
    assert ack.returncode == 1
    assert ack.stderr.startswith("error: ") and "Traceback" not in ack.stderr


def test_directory_instead_of_file_is_a_usage_error(tmp_path):
    result = gateway("check", tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_unreadable_file_is_one_line_and_exit_2(tmp_path):
    locked = tmp_path / "locked.x12"
    locked.write_bytes(GOOD.read_bytes())
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as a user who can read any file (root)")
    result = gateway("check", locked)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_ack_prints_the_997_with_the_given_stamp():
    result = gateway("ack-file", "--date", "20261121", "--time", "0930", "--control", "41", GOOD)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].endswith("*261121*0930*U*00401*000000041*0*P*>~")
    assert lines[1] == "GS*FA*CEDARRIDGEOUT*079845213*20261121*0930*41*X*004010~"
    assert "AK9*A*1*1*1~" in lines


def test_ack_999_for_a_5010_file():
    result = gateway("ack-file", "--format", "999", FIVE)
    assert result.returncode == 0
    assert "ST*999*0001~" in result.stdout and "IK4*3*324*1~" in result.stdout


def test_ack_refuses_a_bad_stamp():
    result = gateway("ack-file", "--date", "2026-11-21", GOOD)
    assert result.returncode == 2
    assert "CCYYMMDD" in result.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "gateway"
    if not script.exists():
        pytest.skip("not running from the project's virtual environment")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert "check" in result.stdout and "ack" in result.stdout
