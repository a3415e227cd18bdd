"""The console's users page, for admins, through the ASGI test client on SQLite and PostgreSQL:
the users and the sign-in log listed, a user added and disabled as `gateway users` does it,
refusals with the rule's sentence, and nobody but an admin let in."""

from __future__ import annotations

import html
import re

import pytest

from gateway import errors
from tests.integration.web.conftest import PASSWORD, USERS, Console, csrf_in, sign_in
from tests.integration.web.test_console_pages import text_of

NEW_PASSWORD = "a long enough password"


def added(client, **fields: str):
    page = client.get("/users")
    form = {"csrf": csrf_in(page.text), "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    return client.post("/users", data={**form, **fields}, follow_redirects=False)


def refusal(page: str, action: str) -> tuple[str, str]:
    found = re.search(rf'id="refused-{action}">([^<]+)(?:<code class="rule">([^<]+)<)?', page)
    assert found, page[-2000:]
    return html.unescape(found.group(1)).strip(), found.group(2) or ""


def test_an_admin_sees_the_users_and_the_sign_in_log(console: Console):
    page = console.client("ada").get("/users")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    for name, (role, partner) in USERS.items():
        assert f"<td>{name}</td>" in rows and f"<td>{role}</td>" in rows
        if partner:
            assert f"<td>{partner}</td>" in rows
    log = text_of(page.text.split('id="sign-ins"')[1])
    assert "ada" in log and "signed in" in log


@pytest.mark.parametrize(("name", "status"), [("olive", 403), ("vic", 403), ("pat", 404)])
def test_nobody_but_an_admin_may_see_or_change_the_users(console: Console, name: str, status):
    client = console.client(name)
    assert client.get("/users").status_code == status
    token = csrf_in(client.get("/orders").text)
    answer = client.post(
        "/users",
        data={"csrf": token, "name": "mallory", "role": "admin", "password": NEW_PASSWORD,
              "password_again": NEW_PASSWORD},
    )  # fmt: skip
    assert answer.status_code == status
    assert client.post("/users/disable", data={"csrf": token, "name": "ada"}).status_code == status
    assert 'href="/users"' not in client.get("/orders").text


def test_an_admin_adds_a_user_who_can_then_sign_in(console: Console):
    ada = console.client("ada")
    done = added(ada, name="nora", role="partner", partner="pinecrest")
    assert done.status_code == 303
    page = ada.get(done.headers["location"])
    assert "User nora added." in page.text
    assert "<td>nora</td>" in page.text and "<td>pinecrest</td>" in page.text
    answer = sign_in(console.client(), "nora", NEW_PASSWORD)
    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"password_again": "something else entirely"}, "password_again", "passwords differ"),
        ({"partner": "acme", "role": "partner"}, "partner", "no partner 'acme'"),
    ],
)
def test_a_form_that_is_no_user_is_named_field_by_field(
    console: Console, fields: dict[str, str], field: str, expected: str
):
    answer = added(console.client("ada"), **{"name": "nora", "role": "operator", **fields})
    assert answer.status_code == 422
    sentence, _rule = refusal(answer.text, "add")
    assert expected in sentence
    assert re.search(rf'<(input|select) name="{field}"[^>]*aria-invalid="true"', answer.text)
    assert NEW_PASSWORD not in answer.text  # a password is never drawn back
    assert 'value="nora"' in answer.text  # the rest of the form is kept


@pytest.mark.parametrize(
    ("fields", "rule", "expected"),
    [
        ({"name": "olive"}, "user-name-unique", "a user named 'olive' exists already"),
        ({"password": "short", "password_again": "short"}, "password-long-enough",
         "the password is 5 characters long"),
        ({"partner": "pinecrest"}, "partner-user-names-partner", "only a user of role partner"),
        ({"role": "partner"}, "partner-user-names-partner", "needs the partner's key"),
        ({"name": "two words"}, "user-name-well-formed", "without spaces"),
    ],
)  # fmt: skip
def test_a_refused_user_shows_the_rules_sentence(
    console: Console, fields: dict[str, str], rule: str, expected: str
):
    answer = added(console.client("ada"), **{"name": "nora", "role": "operator", **fields})
    assert answer.status_code == 409
    sentence, named = refusal(answer.text, "add")
    assert expected in sentence and named == rule and rule in errors.RULES
    assert '<details class="action" id="action-add" open>' in answer.text


def test_an_admin_disables_a_user_whose_sessions_end(console: Console):
    olive = console.client("olive")
    assert olive.get("/orders").status_code == 200
    ada = console.client("ada")
    page = ada.get("/users")
    done = ada.post(
        "/users/disable", data={"csrf": csrf_in(page.text), "name": "olive"}, follow_redirects=False
    )
    assert done.status_code == 303
    after = ada.get(done.headers["location"])
    assert "User olive disabled; its sessions ended." in after.text
    row = after.text.split("<td>olive</td>")[1].split("</tr>")[0]
    assert "disabled" in row and "Disable" not in row
    assert olive.get("/orders", follow_redirects=False).status_code == 303  # signed out
    again = sign_in(console.client(), "olive", PASSWORD)
    assert again.status_code == 401 and "this user is disabled" in again.text
    refused = ada.post("/users/disable", data={"csrf": csrf_in(page.text), "name": "nobody"})
    assert refused.status_code == 409
    sentence, rule = refusal(refused.text, "disable")
    assert sentence == "no user named 'nobody'" and rule == "user-exists"


def test_names_typed_at_the_sign_in_page_are_shown_inert(console: Console):
    sign_in(console.client(), "\x1b[31m<b>eve</b>", "whatever it is")
    page = console.client("ada").get("/users")
    assert "\x1b" not in page.text and "<b>eve" not in page.text
    assert "\\x1b[31m&lt;b&gt;eve&lt;/b&gt;" in page.text
