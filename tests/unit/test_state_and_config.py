"""Stored state round-trips whatever happened to an order; configuration is validated once,
with errors naming the file, the key and the fix."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.state import dump, load, restore
from gateway.config import DEFAULT_DATABASE_FILE, load_config
from gateway.domain.model import Order
from gateway.domain.values import DocumentKind, DocumentState, EntityCode, Party, ShipmentStatus
from gateway.errors import ConfigurationError, RuleViolation, StateError
from tests.unit.domain import builders as b

STEPS = [
    lambda n: b.fulfil(f"F{n}", ("1", 1)),
    lambda n: b.fulfil(f"F{n}", ("2", 2), ("3", "1"), tracking_numbers=b.tracking_for(f"F{n}", 2)),
    lambda n: b.cancel(f"C{n}", ("2", 1), reason="short"),
    lambda n: b.cancel_order(f"CO{n}", reason="closing"),
    lambda n: b.give_back(f"R{n}", ("1", 1), reason="damaged", source="cli"),
    lambda n: b.refund(f"RF{n}", "2.50", ("1", 1), reason="damaged", source="cli"),
    lambda n: b.invoice(f"INV{n}", "25.00", ("1", 1), source="810"),
    lambda n: b.accept("INV1"),
    lambda n: b.mark_paid(),
    lambda n: b.track(f"document {n}", DocumentKind.SHIP_NOTICE, "F1", needs_acceptance=True),
    lambda n: b.document_state("document 1", DocumentState.ACCEPTED),
    lambda n: b.shipment("F1", ShipmentStatus.DELIVERED),
    lambda n: b.confirm(),
]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.integers(0, len(STEPS) - 1), max_size=14))
def test_an_order_restored_from_its_stored_state_is_equal(steps):
    order = b.new_order(("1", 10), ("2", 4), ("3", "2.5"))
    for number, step in enumerate(steps, start=1):
        with contextlib.suppress(RuleViolation):
            order.handle(STEPS[step](number))
    order.events.clear()  # pending events and history facts are stored apart
    order.history.clear()
    stored = json.loads(json.dumps(dump(order)))  # what the database column holds
    restored = restore(Order, stored)
    assert restored == order
    assert [line.open for line in restored.lines] == [line.open for line in order.lines]
    assert restored.flags == order.flags


def test_stored_state_keeps_parties_and_exact_decimals():
    order = b.new_order(("1", "0.125"))
    order.parties.append(Party(EntityCode.SHIP_TO, "Jane Doe", "92", "0042"))
    restored = restore(Order, dump(order))
    assert restored.lines[0].ordered == Decimal("0.125")
    assert restored.parties == order.parties


def test_a_field_stored_before_it_existed_takes_its_default_and_unions_try_each_option():
    order = b.new_order(("1", 2))
    stored = json.loads(json.dumps(dump(order)))
    del stored["lines"][0]["description"]  # as a row written before lines had descriptions
    assert restore(Order, stored).lines[0].description == ""
    assert load(int | str, "x") == "x" and load(int | None, None) is None
    with pytest.raises(StateError, match="fits none"):
        load(int | Decimal, [1])


def test_state_that_cannot_be_restored_is_our_fault_not_a_crash():
    with pytest.raises(StateError, match="missing"):
        restore(Order, {"partner": "ACME"})


# -- configuration ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_sqlite_in_the_data_folder(tmp_path: Path):
    config = load_config(None, data_dir=tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / DEFAULT_DATABASE_FILE}"
    assert config.source == "embedded defaults"


def test_paths_are_relative_to_the_configuration_file(tmp_path: Path):
    config = load_config(write(tmp_path, '[gateway]\ndata_dir = "var"\n'))
    assert config.data_dir == tmp_path.resolve() / "var"


def test_postgresql_url_with_the_password_from_the_environment(tmp_path: Path, monkeypatch):
    path = write(
        tmp_path,
        '[database]\nurl = "postgresql+psycopg://gw@db.internal/gateway"\n'
        'password_env = "GATEWAY_DB_PASSWORD"\n',
    )
    config = load_config(path)
    with pytest.raises(ConfigurationError, match="GATEWAY_DB_PASSWORD, which is not set"):
        config.database.password()
    monkeypatch.setenv("GATEWAY_DB_PASSWORD", "s3cret")
    assert config.database.password() == "s3cret"
    assert "s3cret" not in config.database_url


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gatway]\n", "unknown key 'gatway'"),
        ("[gateway]\ndata_dir = 3\n", "data_dir must be a str"),
        ('[database]\nurl = "mysql://x/y"\n', "url must be sqlite"),
        ('[database]\nurl = "postgresql://gw:pw@h/db"\n', "holds a password"),
        ("[database]\npool_size = 0\n", "pool_size must be at least 1"),
        ("[database\n", "not valid TOML"),
    ],
)
def test_bad_configuration_names_file_key_and_fix(tmp_path: Path, text, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_config(write(tmp_path, text))
    assert str(tmp_path / "gateway.toml") in str(caught.value)


def test_a_missing_configuration_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")
