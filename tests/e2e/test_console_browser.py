"""The console in a real browser: Debian's headless Chromium driven by selenium against
`gateway.web` served by uvicorn on 127.0.0.1 (SQLite). An operator signs in, searches an order,
opens it, creates the fulfilment that ships its last line and sees it turn Shipped, tries a
refused action and reads the rule, adds a note and edits it; a partner user sees their
partner's orders only and gets "not found" for another's. Screenshots are saved
(`UPDATE_SCREENSHOTS=1` writes the README's to docs/images/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import create_store_engine
from gateway.config import GatewayConfig
from gateway.domain.values import LineQuantity
from gateway.service.views import show_order
from gateway.web.app import create_app
from tests.browser import screenshot, serve
from tests.integration.web.conftest import HARBORVIEW_PO, PASSWORD, demo_console

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 15


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, object, str]]:
    """The console on a SQLite store with the demo data: (base URL, gateway, Pinecrest PO)."""
    config = GatewayConfig(data_dir=tmp_path)
    engine = create_store_engine(config)
    upgrade(engine)
    engine.dispose()
    gateway, hasher, pinecrest_po = demo_console(config, tmp_path)
    with serve(create_app(gateway, hasher=hasher)) as url:
        yield url, gateway, pinecrest_po
    gateway.close()


def wait_for(driver: WebDriver, locator: tuple[str, str]) -> WebElement:
    return WebDriverWait(driver, WAIT_SECONDS).until(
        expected_conditions.visibility_of_element_located(locator)
    )


def sign_in(driver: WebDriver, url: str, name: str) -> None:
    wait_for(driver, (By.NAME, "name")).send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "/signin" not in d.current_url)


def open_action(driver: WebDriver, action: str) -> WebElement:
    """Open the order page's <details> of `action` and return its form."""
    details = driver.find_element(By.ID, f"action-{action}")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    return details.find_element(By.TAG_NAME, "form")


def pictures(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        folder = ROOT / "docs" / "images"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def test_an_operator_ships_the_last_line_is_refused_and_keeps_notes(
    browser: WebDriver, site, tmp_path: Path
):
    url, gateway, _ = site
    order_path = f"/orders/harborview/{quote(HARBORVIEW_PO)}"
    view = show_order(gateway.uow_factory(), HARBORVIEW_PO, "harborview")
    *first_lines, last = view["lines"]
    gateway.desk().fulfil(  # every line but the last shipped before, from the command line
        HARBORVIEW_PO,
        [LineQuantity(line["line"], Decimal(line["open"])) for line in first_lines],
        partner="harborview",
        carrier="UPS",
        tracking_numbers=("1Z999AA10123456784",),
    )

    browser.get(url + "/orders")
    assert "/signin" in browser.current_url  # no session: the sign-in page first
    sign_in(browser, url, "olive")
    assert browser.current_url.endswith("/orders")

    search = wait_for(browser, (By.NAME, "search"))
    browser.execute_script("window.keptAcrossTheSearch = true")
    search.send_keys(HARBORVIEW_PO[:8].lower())
    search.submit()  # htmx swaps the results in and keeps the URL: no page load
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: "search=" in d.current_url)
    link = wait_for(browser, (By.LINK_TEXT, HARBORVIEW_PO))
    assert browser.execute_script("return window.keptAcrossTheSearch") is True
    link.click()
    wait_for(browser, (By.TAG_NAME, "h1"))
    assert browser.current_url.endswith(order_path)
    assert "flag-shipped" not in browser.page_source

    form = open_action(browser, "fulfil")
    form.find_element(By.NAME, f"qty-{last['line']}").send_keys(last["open"])
    form.find_element(By.NAME, "carrier").send_keys("FedEx")
    form.find_element(By.NAME, "tracking_numbers").send_keys("748900000010")
    form.find_element(By.NAME, "tracking_url").send_keys(
        "https://www.fedex.com/fedextrack/?trknbr=748900000010"
    )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    said = wait_for(browser, (By.CSS_SELECTOR, ".said"))
    assert said.text.startswith("Fulfilment F-") and said.text.endswith("recorded.")
    assert browser.find_element(By.CSS_SELECTOR, ".badge.flag-shipped").text == "Shipped"
    tracking = browser.find_element(By.LINK_TEXT, "748900000010")
    assert tracking.get_attribute("href").startswith("https://www.fedex.com/")
    screenshot(browser, pictures(tmp_path) / "console-order.png", full_page=True)

    form = open_action(browser, "cancel")  # nothing open is left: the rules refuse it
    form.find_element(By.NAME, "whole").click()
    form.find_element(By.NAME, "reason").send_keys("customer changed their mind")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refused = wait_for(browser, (By.ID, "refused-cancel"))
    rule = refused.find_element(By.CSS_SELECTOR, "code.rule").text
    assert rule and rule in refused.text
    assert browser.find_element(By.ID, "action-cancel").get_attribute("open") is not None
    screenshot(browser, tmp_path / "refused.png")

    notes = browser.find_element(By.CSS_SELECTOR, "form.add-note")
    notes.find_element(By.NAME, "text").send_keys("Customer asked for a call on delivery")
    notes.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    note = wait_for(browser, (By.CSS_SELECTOR, "ul.notes .note-text"))
    assert note.text == "Customer asked for a call on delivery"
    browser.find_element(By.CSS_SELECTOR, "ul.notes details summary").click()
    editor = browser.find_element(By.CSS_SELECTOR, "ul.notes details textarea[name=text]")
    editor.clear()
    editor.send_keys("Customer asked for a call before delivery")
    browser.find_element(By.CSS_SELECTOR, "ul.notes details form button").click()
    wait_for(browser, (By.CSS_SELECTOR, ".said"))
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "ul.notes .note-text")]
    assert texts == ["Customer asked for a call before delivery"]
    history = browser.find_element(By.ID, "history").text
    assert "NoteEdited" in history and "olive (web)" in history


def test_a_partner_user_sees_their_partners_orders_only(browser: WebDriver, site, tmp_path):
    url, _gateway, pinecrest_po = site
    browser.get(url + "/orders?test=1")
    sign_in(browser, url, "pat")
    wait_for(browser, (By.LINK_TEXT, pinecrest_po))
    assert HARBORVIEW_PO not in browser.page_source
    partners = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#results td:nth-child(2)")]
    assert partners and set(partners) == {"pinecrest"}
    assert not browser.find_elements(By.NAME, "partner")  # no partner filter to choose from
    Select(browser.find_element(By.NAME, "sort")).select_by_value("po")
    browser.get(url + f"/orders/harborview/{quote(HARBORVIEW_PO)}")
    assert wait_for(browser, (By.TAG_NAME, "h1")).text == "Not found"
    told = browser.find_element(By.CSS_SELECTOR, "main .refused").text
    browser.get(url + "/orders/harborview/NO-SUCH-PO")  # as if it did not exist
    assert wait_for(browser, (By.CSS_SELECTOR, "main .refused")).text == told
    screenshot(browser, tmp_path / "partner-not-found.png")
