"""Every rule a refusal names is registered, with its sentence, in `gateway.errors.RULES`
(issue 15): the console shows the sentence beside a refused form, the API returns it with a 409."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import gateway
from gateway import errors

PACKAGE = Path(gateway.__file__).parent
# what raises a refusal naming a rule: its first argument, or its `rule=` keyword
RAISING = {
    "RuleViolation",
    "refusal",
    "_refuse",
    "ExportRefused",
    "DocumentActionRefused",
    "MailActionRefused",
    "MappingError",
    "AccountRefused",
    "SignInRefused",
    "TokenRefused",
    "IdempotencyConflict",
}
RULE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")


def raised_rules() -> dict[str, str]:
    """Each rule name passed as a constant to a refusal anywhere in the package, with where."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
            if name not in RAISING:
                continue
            values = [k.value for k in node.keywords if k.arg == "rule"]
            if name != "MappingError" and node.args:
                values.append(node.args[0])
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def load_every_module() -> None:
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if ".migrations" not in module.name:  # Alembic's scripts run only under Alembic
            importlib.import_module(module.name)


def test_every_rule_raised_is_registered_with_its_sentence():
    load_every_module()
    raised = raised_rules()
    assert len(raised) > 60  # the scan sees the rules (not an empty walk)
    missing = {name: where for name, where in raised.items() if name not in errors.RULES}
    assert not missing, missing
    for name, sentence in errors.RULES.items():
        assert RULE_NAME.fullmatch(name), name
        assert sentence and not sentence.endswith("."), (name, sentence)


def test_a_rule_is_registered_once_with_one_sentence():
    errors.register_rule("order-exists", errors.RULES["order-exists"])  # the same: no harm
    try:
        errors.register_rule("order-exists", "something else")
    except ValueError as exc:
        assert "registered twice" in str(exc)
    else:
        raise AssertionError("a second sentence for one rule was taken")


def test_refused_is_the_base_of_what_exits_1_and_faults_are_not_refusals():
    assert issubclass(errors.RuleViolation, errors.Refused)
    assert issubclass(errors.MappingError, errors.Refused)
    assert issubclass(errors.TransportError, errors.Refused)
    assert issubclass(errors.UnknownCarrier, errors.PartnerError)
    for refusal in (errors.AccountRefused, errors.SignInRefused):  # ours to refuse, not a partner's
        assert issubclass(refusal, errors.Refused) and not issubclass(refusal, errors.PartnerError)
    for fault in (errors.ConfigurationError, errors.StateError, errors.InvalidOutboundDocument):
        assert issubclass(fault, errors.GatewayFault) and not issubclass(fault, errors.Refused)
    assert not issubclass(errors.StoreUnavailable, (errors.Refused, errors.GatewayFault))


def test_every_exception_class_of_the_gateway_is_in_errors():
    load_every_module()
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if bases & {"Exception", "ValueError", *dir(errors)} and node.name.endswith(
                    ("Error", "Refused", "Violation", "Fault", "Rejected", "Unavailable")
                ):
                    elsewhere.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert not elsewhere, elsewhere
