"""The codec as a library (issue 15): `gateway.x12` names what a user needs in `__all__`, and
importing it imports the codec; the command line's help and the store's commands that need no
codec do not import it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gateway import x12

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "850" / "850_004010_good.x12"


def test_every_name_of_the_facade_is_there_and_documented():
    for name in x12.__all__:
        assert getattr(x12, name) is not None, name
    assert set(x12.__all__) <= set(dir(x12))
    with pytest.raises(AttributeError):
        x12.no_such_name  # noqa: B018


def test_the_facade_reads_validates_and_answers_a_file():
    data = SAMPLE.read_bytes()
    report = x12.read_bytes(data)
    assert report.accepted
    (interchange,), _ = x12.parse_bytes(data)
    assert interchange.groups[0].transactions[0].set_id == "850"
    answers = x12.build_acknowledgements(
        report.interchanges[0], x12.CountingControlNumbers(), x12.Stamp("20261207", "1200")
    )
    assert b"AK9*A*1*1*1~" in x12.serialize(answers[0])


def test_importing_the_package_imports_the_codec_and_the_help_does_not():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, gateway.x12; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "gateway.x12.reader" in loaded and "gateway.x12.ack" in loaded
    helped = subprocess.run(
        [sys.executable, "-c", "import sys; from gateway.cli import main; sys.argv[1:] = "
         "['--help']\ntry:\n    main()\nfinally:\n    print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "'gateway.cli.codec'" in helped and "gateway.x12" not in helped


def test_the_facade_names_exactly_what_it_imports():
    public = {
        name
        for name, value in vars(x12).items()
        if not name.startswith("_") and not isinstance(value, ModuleType) and name != "annotations"
    }
    assert sorted(x12.__all__) == sorted(public)
