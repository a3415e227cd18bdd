"""What a partner wrote (a file name, a note, a ship-to name) reaches the operator's terminal
shown, never obeyed: no escape sequence, line break or bidirectional override gets through the
tables, the order page or an error line."""

from __future__ import annotations

import pytest

from gateway import render

HOSTILE = "Marisol\x1b[2J\x1b]8;;https://evil.example\x1b\\ Ortega\u202egpj.exe\r\nforged\x9b31m"


def test_a_view_is_made_safe_value_by_value_and_keeps_plain_text():
    view = {"name": HOSTILE, "lines": [{"note": "ok"}, {"note": "caf\u00e9\ttab"}], "n": 3}
    shown = render.safe(view)
    assert shown["lines"] == [{"note": "ok"}, {"note": "caf\u00e9\ttab"}] and shown["n"] == 3
    assert not any(c in render.UNSAFE for c in shown["name"])
    assert shown["name"].startswith("Marisol\\x1b[2J") and "\\u202e" in shown["name"]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: render.table([{"file": HOSTILE, "why": "x"}]),
        lambda: render.order_table(
            [
                {
                    "partner": HOSTILE,
                    "po_number": "PO-1",
                    "our_role": "seller",
                    "order_date": "2026-12-01",
                    "flags": [],
                    "fulfilment_status": "unfulfilled",
                    "payment_status": "pending",
                }
            ]
        ),
    ],
)
def test_tables_show_partner_text_escaped(draw, capsys: pytest.CaptureFixture[str]):
    draw()
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\r" not in out
    assert "Marisol\\x1b[2J" in out
