"""The console's pages and actions through the ASGI test client, on SQLite and PostgreSQL:
HTML checked for what it says, not only for its status code."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest

from gateway import errors
from gateway.service.views import show_order
from gateway.web.app import create_app
from tests.integration.web.conftest import HARBORVIEW_PO, Console, csrf_in

ORDER = f"/orders/harborview/{HARBORVIEW_PO}"
PAGES = ["/", "/orders", ORDER, "/documents", "/quarantine", "/partners", "/mail", "/users"]


def open_quantities(console: Console, partner: str, po_number: str) -> dict[str, str]:
    """Each line's open quantity, as the store holds the order."""
    view = show_order(console.gateway.uow_factory(), po_number, partner)
    return {line["line"]: line["open"] for line in view["lines"] if line["open"] != "0"}


def text_of(html: str) -> str:
    """The page's text, tags dropped and spaces folded (what a reader sees)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_every_page_goes_to_the_sign_in_page(console: Console, path: str):
    answer = console.client().get(path, follow_redirects=False)
    assert answer.status_code == 303
    expected = "/signin" if path == "/" else f"/signin?next={quote(path, safe='')}"
    assert answer.headers["location"] == expected


def test_signing_in_goes_back_to_the_page_asked_for(console: Console):
    client = console.client()
    first = client.get(ORDER)  # follows to the sign-in form, which keeps the target
    assert "Sign in" in first.text and f'value="{ORDER}"' in first.text
    answer = client.post(
        "/signin",
        data={
            "csrf": csrf_in(first.text),
            "name": "olive",
            "password": "correct horse battery",
            "next": ORDER,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == ORDER


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_the_sign_in_page_sends_nobody_elsewhere(console: Console, target: str):
    client = console.client()
    page = client.get("/signin", params={"next": target})
    answer = client.post(
        "/signin",
        data={
            "csrf": csrf_in(page.text),
            "name": "olive",
            "password": "correct horse battery",
            "next": target,
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_the_order_list_shows_the_orders_with_their_flags(console: Console):
    page = console.client("olive").get("/orders")
    assert page.status_code == 200
    assert HARBORVIEW_PO in page.text and f'href="{ORDER}"' in page.text
    assert "unfulfilled" in page.text
    tests = console.client("olive").get("/orders", params={"test": "1"})
    assert console.pinecrest_po in tests.text  # test orders only when asked for
    assert console.pinecrest_po not in page.text


def test_the_order_list_searches_filters_and_refuses_unknown_names(console: Console):
    client = console.client("olive")
    found = client.get("/orders", params={"search": HARBORVIEW_PO[:6].lower()})
    assert HARBORVIEW_PO in found.text
    none = client.get("/orders", params={"search": "NOTHING-LIKE-IT"})
    assert HARBORVIEW_PO not in none.text and "No orders match" in none.text
    shipped = client.get("/orders", params={"status": "shipped"})
    assert HARBORVIEW_PO not in shipped.text
    wrong = client.get("/orders", params={"status": "teleported"})
    assert wrong.status_code == 400 and "status &#39;teleported&#39; is not one of" in wrong.text
    partial = client.get("/orders", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and HARBORVIEW_PO in partial.text


def test_the_order_page_shows_what_orders_show_shows(console: Console):
    page = console.client("vic").get(ORDER)
    assert page.status_code == 200
    seen = text_of(page.text)
    for expected in (
        "Order HV4500871234",
        "We sell to harborview",
        "unfulfilled",
        "pending",
        "Lines",
        "Ordered",
        "Open",
        "Marisol Ortega",
        "History",
        "OrderReceived",
    ):
        assert expected in seen, expected
    assert 'href="/documents/' in page.text  # the 850 it came in, linked
    assert "Create fulfilment" not in page.text  # a viewer reads only


def test_an_operator_fulfils_every_line_and_the_order_turns_shipped(console: Console):
    client = console.client("olive")
    page = client.get(ORDER)
    opens = open_quantities(console, "harborview", HARBORVIEW_PO)
    form = {
        "csrf": csrf_in(page.text),
        "carrier": "UPS",
        "tracking_numbers": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }
    form.update({f"qty-{line}": quantity for line, quantity in opens.items()})
    assert set(re.findall(r'name="qty-([^"]+)"', page.text)) == set(opens)  # the form's lines
    done = client.post(f"{ORDER}/fulfil", data=form, follow_redirects=False)
    assert done.status_code == 303, text_of(done.text)
    after = client.get(done.headers["location"])
    assert "flag-shipped" in after.text and "Fulfilment F-" in after.text
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in after.text
    assert "olive (web)" in after.text  # the history names who did it


def test_a_refused_action_shows_the_rules_sentence_beside_its_form(console: Console):
    client = console.client("olive")
    page = client.get(ORDER)
    line = re.findall(r'name="return-([^"]+)"', page.text)[0]
    refused = client.post(
        f"{ORDER}/return",
        data={"csrf": csrf_in(page.text), f"return-{line}": "1", "reason": "damaged"},
    )
    assert refused.status_code == 409
    assert 'id="refused-return"' in refused.text
    sentence = re.search(r'id="refused-return">([^<]+)<code class="rule">([^<]+)<', refused.text)
    assert sentence and "fulfilled" in sentence.group(1)
    assert sentence.group(2) in errors.RULES  # the rule, named as the registry names it
    assert '<details class="action" id="action-return" open>' in refused.text


def test_a_field_that_is_no_value_is_named(console: Console):
    client = console.client("olive")
    page = client.get(ORDER)
    line = re.findall(r'name="qty-([^"]+)"', page.text)[0]
    refused = client.post(
        f"{ORDER}/fulfil",
        data={
            "csrf": csrf_in(page.text),
            f"qty-{line}": "1",
            "carrier": "UPS",
            "tracking_url": "javascript:alert(1)",
        },
    )
    assert refused.status_code == 422
    assert "is not a web address" in refused.text and 'aria-invalid="true"' in refused.text


def test_notes_are_added_edited_and_deleted_and_hostile_text_stays_inert(console: Console):
    client = console.client("olive")
    page = client.get(ORDER)
    hostile = '<script>alert("x")</script>\x1b[31m'
    added = client.post(ORDER + "/note", data={"csrf": csrf_in(page.text), "text": hostile})
    assert added.status_code == 200 and "Note N-" in added.text
    assert "<script>alert" not in added.text and "&lt;script&gt;alert" in added.text
    note = re.search(r"/notes/(N-[0-9a-f]+)/edit", added.text).group(1)
    edited = client.post(
        f"{ORDER}/notes/{note}/edit", data={"csrf": csrf_in(added.text), "text": "call Monday"}
    )
    assert "call Monday" in edited.text and "Note " + note + " edited" in edited.text
    deleted = client.post(f"{ORDER}/notes/{note}/delete", data={"csrf": csrf_in(edited.text)})
    assert "call Monday" not in text_of(deleted.text).split("Notes", 1)[1].split("Actions")[0]


def test_a_form_without_its_csrf_token_is_refused(console: Console):
    client = console.client("olive")
    answer = client.post(ORDER + "/note", data={"text": "hello"})
    assert answer.status_code == 403
    wrong = client.post(ORDER + "/note", data={"text": "hello", "csrf": "x" * 43})
    assert wrong.status_code == 403
    assert "hello" not in client.get(ORDER).text


def test_a_viewer_may_not_act(console: Console):
    client = console.client("vic")
    page = client.get(ORDER)
    answer = client.post(ORDER + "/note", data={"csrf": csrf_in(page.text), "text": "hi"})
    assert answer.status_code == 403


def test_a_partner_user_sees_only_their_partners_orders(console: Console):
    client = console.client("pat")  # Pinecrest's
    listing = client.get("/orders", params={"test": "1"})
    assert console.pinecrest_po in listing.text and HARBORVIEW_PO not in listing.text
    assert client.get(ORDER).status_code == 404
    assert client.get("/orders", params={"partner": "harborview"}).status_code in (200, 400)
    assert HARBORVIEW_PO not in client.get("/orders", params={"partner": "harborview"}).text


def test_a_partner_user_fulfils_an_order_placed_with_them_and_nothing_else(console: Console):
    client = console.client("pat")
    order = f"/orders/pinecrest/{console.pinecrest_po}"
    page = client.get(order)
    assert 'id="action-fulfil"' in page.text and 'id="action-cancel"' not in page.text
    opens = open_quantities(console, "pinecrest", console.pinecrest_po)
    form = {"csrf": csrf_in(page.text), "carrier": "FedEx", "tracking_numbers": "748900000010"}
    form.update({f"qty-{line}": quantity for line, quantity in opens.items()})
    done = client.post(order + "/fulfil", data=form)
    assert done.status_code == 200 and "flag-shipped" in done.text
    cancel = client.post(
        order + "/cancel", data={"csrf": csrf_in(done.text), "whole": "1", "reason": "x"}
    )
    assert cancel.status_code == 403
    hank = console.client("hank")  # Harborview's user: Harborview's order is one we sell
    theirs = hank.get(ORDER)
    assert theirs.status_code == 200 and "Create fulfilment" not in theirs.text


def test_cookies_and_headers(console: Console):
    client = console.client()
    page = client.get("/signin")
    assert "content-security-policy" in page.headers
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    answer = client.post(
        "/signin",
        data={"csrf": csrf_in(page.text), "name": "olive", "password": "correct horse battery"},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secure = console.client(base_url="https://testserver")
    page = secure.get("/signin")
    answer = secure.post(
        "/signin",
        data={"csrf": csrf_in(page.text), "name": "olive", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert "Secure" in answer.headers["set-cookie"]


def test_the_eleventh_wrong_password_in_a_minute_is_throttled(console: Console):
    client = console.client()
    for _ in range(10):
        page = client.get("/signin")
        wrong = client.post(
            "/signin",
            data={"csrf": csrf_in(page.text), "name": "olive", "password": "not the password"},
        )
        assert wrong.status_code == 401 and "the name or the password is wrong" in wrong.text
    page = client.get("/signin")
    right = client.post(
        "/signin",
        data={"csrf": csrf_in(page.text), "name": "olive", "password": "correct horse battery"},
    )
    assert right.status_code == 429 and "too many attempts" in right.text


def test_every_action_of_the_order_page_does_what_the_command_line_does(console: Console):
    """The order's day through the forms: dates and customer changed, acknowledged, a line
    shipped and its shipment followed, another cancelled, invoiced, paid, part of the shipped
    line returned and refunded; each says it is done and shows on the page."""
    client = console.client("olive")
    opens = open_quantities(console, "harborview", HARBORVIEW_PO)
    first, second, *_ = opens

    def act(action: str, fields: dict[str, str], said: str) -> str:
        page = client.get(ORDER)
        done = client.post(f"{ORDER}/{action}", data={"csrf": csrf_in(page.text), **fields})
        assert done.status_code == 200, (action, re.findall(r"refused-\w+\">[^<]*", done.text))
        assert said in text_of(done.text), (action, said)
        return text_of(done.text)

    act("dates", {"requested_ship": "2026-11-20", "reason": "buyer asked"}, "Dates recorded.")
    page = act(
        "customer",
        {"ship_to-name": "Rosa Vance", "ship_to-street": "9 Elm Road", "ship_to-city": "Lansing",
         "ship_to-state": "MI", "ship_to-postal_code": "48901", "reason": "gift"},
        "Customer changed.",
    )  # fmt: skip
    assert "Rosa Vance" in page and "requested ship 2026-11-20" in page
    assert "Acknowledgement sent." in act("acknowledge", {"whole": "accept"}, "Acknowledgement")
    page = act(
        "fulfil",
        {f"qty-{first}": opens[first], "carrier": "UPS", "tracking_numbers": "1Z999AA10123456784"},
        "Fulfilment F-",
    )
    fulfilment = re.search(r"(F-[0-9a-f]{8}) shipped", page).group(1)
    page = act(
        "shipment",
        {"fulfilment_id": fulfilment, "status": "delivered"},
        f"Shipment status of {fulfilment} recorded.",
    )
    assert "delivered" in page
    page = act(
        "cancel",
        {f"cancel-{second}": opens[second], "by": "partner", "reason": "out of stock"},
        "Cancellation C-",
    )
    assert "by the buyer" in page and "out of stock" in page
    assert "Invoice sent." in act("invoice", {"number": "INV-77"}, "Invoice sent.")
    page = act("pay", {"amount": "10.00", "reference": "wire 5512"}, "Payment recorded.")
    assert "ref. wire 5512" in page
    page = act("return", {f"return-{first}": "1", "reason": "too small"}, "Return R-")
    assert "too small" in page
    page = act("refund", {"amount": "5.00", "reason": "goodwill"}, "Refund RF-")
    assert "Refund RF-" in page and "goodwill" in page


def test_a_test_order_is_placed_from_the_order_list(console: Console):
    client = console.client("olive")
    page = client.get("/orders")
    placed = client.post("/test-orders", data={"csrf": csrf_in(page.text), "partner": "pinecrest"})
    assert placed.status_code == 200 and "Test order placed" in placed.text
    assert "flag-test" in placed.text
    refused = client.post(
        "/test-orders", data={"csrf": csrf_in(page.text), "partner": "harborview"}
    )
    assert refused.status_code == 409 and "is a buyer" in refused.text


def test_the_home_page_counts_and_draws_the_last_30_days(console: Console):
    then = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)  # a week after the sample's order
    app = create_app(console.gateway, hasher=console.hasher, clock=lambda: then)
    page = console.client("olive", on=app).get("/")
    assert page.status_code == 200
    seen = text_of(page.text)
    assert "1 Open orders" in seen and "Files in quarantine" in seen
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert 'role="img"' in page.text and "<script" not in page.text.split("</head>")[1]
    assert "harborview" in seen  # its share acknowledged and shipped on time
    # taken in today, its 855 not due yet on the clock's day; its ship date (11-06) passed
    assert "harborview: acknowledged on time no orders, shipped on time 0%" in seen
    partner = console.client("pat", on=app).get("/")
    assert "harborview" not in text_of(partner.text) and "Files in quarantine" not in partner.text


def test_a_session_ends_when_idle_or_old_and_at_sign_out(console: Console):
    now = [dt.datetime.now(dt.UTC)]
    app = create_app(console.gateway, hasher=console.hasher, clock=lambda: now[0])
    client = console.client("olive", on=app)
    assert client.get("/orders", follow_redirects=False).status_code == 200
    now[0] += dt.timedelta(minutes=29)  # [web] session_idle_minutes = 30
    assert client.get("/orders", follow_redirects=False).status_code == 200
    now[0] += dt.timedelta(minutes=31)
    assert client.get("/orders", follow_redirects=False).status_code == 303  # idle too long
    start = now[0]
    old = console.client("olive", on=app)  # signed in at `start`, then used every 29 minutes
    while now[0] + dt.timedelta(minutes=29) - start <= dt.timedelta(hours=12):
        now[0] += dt.timedelta(minutes=29)
        assert old.get("/orders", follow_redirects=False).status_code == 200
    now[0] += dt.timedelta(minutes=29)  # [web] session_absolute_hours = 12, passed
    assert old.get("/orders", follow_redirects=False).status_code == 303
    fresh = console.client("olive", on=app)
    page = fresh.get("/orders")
    out = fresh.post("/signout", data={"csrf": csrf_in(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert fresh.get("/orders", follow_redirects=False).status_code == 303
