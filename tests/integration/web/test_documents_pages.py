"""The console's documents, quarantine, partners and mail pages and their actions through the
ASGI test client, on SQLite and PostgreSQL: HTML checked for what it says, not only for its
status code."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest

from gateway import errors
from gateway.config import FolderTransport
from gateway.domain.values import Side
from gateway.service.documents import list_documents
from gateway.service.notify import KIND
from gateway.web import documents as pages
from tests.integration.web.conftest import HARBORVIEW_PO, SAMPLE_850, Console, csrf_in
from tests.integration.web.test_console_pages import text_of

SAMPLES = SAMPLE_850.parents[1]
HOSTILE = "<script>alert(1)</script>\x1b[31m"


def document_id(console: Console, **filters: str) -> int:
    """The newest document matching `filters` (as `list_documents` takes them)."""
    found = list_documents(console.gateway.uow_factory(), limit=1, **filters)  # type: ignore[arg-type]
    assert found, filters
    return int(found[0]["id"])


def variant(sample: Path, po_number: str, control: str, *changes: tuple[bytes, bytes]) -> bytes:
    """A sample with another PO number and interchange control number (ISA13 and IEA02)."""
    content = sample.read_bytes()
    original = re.search(rb"\*(\d{9})\*\d\*[PT]\*", content)
    assert original is not None
    content = content.replace(original.group(1), control.encode())
    content = re.sub(rb"HV45008712\d\d", po_number.encode(), content)
    for old, new in changes:
        content = content.replace(old, new)
    return content


def refusal(page: str, action: str) -> tuple[str, str]:
    """The sentence and the rule shown beside the form of `action`."""
    found = re.search(rf'id="refused-{action}">([^<]+)<code class="rule">([^<]+)<', page)
    assert found, page[-2000:]
    return html.unescape(found.group(1)).strip(), found.group(2)


def inbox(console: Console) -> Path:
    transport = console.gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    return transport.inbox


# -- the list ---------------------------------------------------------------------------------


def test_the_document_list_shows_documents_newest_first_and_filters_them(console: Console):
    client = console.client("vic")
    received = document_id(console, set_id="850")
    sent = document_id(console, set_id="997")
    page = client.get("/documents")
    assert page.status_code == 200
    assert page.text.index(f'href="/documents/{sent}"') < page.text.index(
        f'href="/documents/{received}"'
    )  # the 997 we sent came after the 850
    seen = text_of(page.text)
    assert "850_004010_good.x12" in seen and "received" in seen and "harborview" in seen
    only_850 = client.get("/documents", params={"set": "850"})
    assert f"/documents/{received}" in only_850.text and f"/documents/{sent}" not in only_850.text
    assert '<option value="850" selected>850</option>' in only_850.text  # the filter kept
    out = client.get("/documents", params={"direction": "out", "partner": "harborview"})
    assert f"/documents/{sent}" in out.text and f"/documents/{received}" not in out.text
    accepted = client.get("/documents", params={"status": "accepted"})
    assert f"/documents/{received}" in accepted.text and f"/documents/{sent}" not in accepted.text
    none = client.get("/documents", params={"set": "810"})
    assert "No documents match." in none.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("set", "851"), ("direction", "sideways"), ("status", "teleported"), ("partner", "acme")],
)
def test_an_unknown_filter_value_is_a_400_naming_it(console: Console, name: str, value: str):
    answer = console.client("olive").get("/documents", params={name: value})
    assert answer.status_code == 400
    assert f"{name} &#39;{value}&#39; is not one of" in answer.text
    assert "No documents match." in answer.text


def test_the_document_list_comes_in_pages(console: Console, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    client = console.client("olive")
    received = document_id(console, set_id="850")
    sent = document_id(console, set_id="997")
    first = client.get("/documents", params={"partner": "harborview"})
    assert f"/documents/{sent}" in first.text and f"/documents/{received}" not in first.text
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    assert "partner=harborview" in older.group(1) and "page=2" in older.group(1)
    assert f"/documents/{received}" in second.text and 'rel="prev"' in second.text
    assert client.get("/documents", params={"page": "0"}).status_code == 400


# -- one document -----------------------------------------------------------------------------


def test_a_document_page_shows_what_documents_show_shows(console: Console):
    received = document_id(console, set_id="850")
    sent = document_id(console, set_id="997")
    page = console.client("vic").get(f"/documents/{received}")
    assert page.status_code == 200
    seen = text_of(page.text)
    for expected in (
        f"Document {received}",
        "Received from harborview",
        "850_004010_good.x12",
        "000051001",  # the interchange
        "The file read again as gateway check reads it: accepted",
        "No fault found.",
        "created",  # what became of its set
    ):
        assert expected in seen, expected
    assert f'href="/orders/harborview/{HARBORVIEW_PO}"' in page.text  # the order it touched
    acknowledgements = page.text.split('id="acknowledgements"')[1].split("</section>")[0]
    assert f'href="/documents/{sent}"' in acknowledgements and "997" in acknowledgements
    content = re.search(r'<pre class="segments">(.*?)</pre>', page.text, re.S)
    assert content is not None
    lines = content.group(1).splitlines()
    assert lines[0].startswith("ISA*00*") and lines[1].startswith("GS*PO*079845213")
    assert lines[2] == "ST*850*0001~" and lines[-1] == "IEA*1*000051001~"
    assert len(lines) == SAMPLE_850.read_bytes().count(b"~")  # a segment a line
    assert "Replay" not in page.text  # a viewer reads only


def test_hostile_text_in_a_file_is_shown_inert_on_every_page(console: Console):
    hostile = variant(
        SAMPLE_850,
        "HV4500879999",
        "000051099",
        (b"*P*>~", b"*P*^~"),  # the sub-element separator out of the way of the script tag
        (b"N1*ST*Marisol Ortega~", f"N1*ST*{HOSTILE}~".encode()),
    )
    name = "<b>po</b>\x1b[2J.x12"
    result = console.gateway.ingestor.ingest(hostile, name)
    (found,) = result.document_ids
    client = console.client("olive")
    for path in (f"/documents/{found}", "/documents"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<b>po" not in page.text
        assert "\x1b" not in page.text  # shown as the escape, never as the control character
        assert "&lt;b&gt;po&lt;/b&gt;\\x1b[2J.x12" in page.text
    page = client.get(f"/documents/{found}")
    assert "N1*ST*&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31m~\n" in page.text
    assert "N102 contains a control character" in page.text  # the validation says why


def test_another_partners_document_is_not_found_for_a_partner_user(console: Console):
    received = document_id(console, set_id="850")  # Harborview's
    pat = console.client("pat")  # Pinecrest's
    assert pat.get(f"/documents/{received}").status_code == 404
    listing = pat.get("/documents", params={"partner": "harborview"})
    assert listing.status_code == 200 and f"/documents/{received}" not in listing.text
    assert "No documents match." in listing.text
    page = pat.get("/documents")
    replay = pat.post(f"/documents/{received}/replay", data={"csrf": csrf_in(page.text)})
    assert replay.status_code == 404
    assert console.client().get("/documents/999999", follow_redirects=False).status_code == 303
    assert console.client("olive").get("/documents/999999").status_code == 404
    hank = console.client("hank")  # Harborview's: theirs, to read
    theirs = hank.get(f"/documents/{received}")
    assert theirs.status_code == 200 and "Replay" not in theirs.text


def test_an_operator_resends_what_we_sent_and_is_told_why_not_for_what_we_received(
    console: Console,
):
    client = console.client("olive")
    sent = document_id(console, set_id="997")
    received = document_id(console, set_id="850")
    page = client.get(f"/documents/{sent}")
    assert f'action="/documents/{sent}/resend"' in page.text and "/replay" not in page.text
    done = client.post(
        f"/documents/{sent}/resend", data={"csrf": csrf_in(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/documents/{sent}?done=resend"
    after = client.get(done.headers["location"])
    assert "Queued again" in after.text and "document-queued" in after.text
    refused = client.post(f"/documents/{received}/resend", data={"csrf": csrf_in(page.text)})
    assert refused.status_code == 409
    sentence, rule = refusal(refused.text, "resend")
    assert "only what we send can be resent" in sentence and rule == "resend-only-outbound"
    assert rule in errors.RULES


def test_an_operator_replays_a_document_once_its_order_came(console: Console):
    client = console.client("olive")
    cancel = (SAMPLES / "860" / "860_004010_good_cancel.x12").read_bytes()  # HV4500871264
    refused = console.gateway.ingestor.ingest(cancel, "860.x12")
    (early,) = refused.document_ids
    page = client.get(f"/documents/{early}")
    assert "refused" in text_of(page.text) and f'action="/documents/{early}/replay"' in page.text
    order = variant(SAMPLE_850, "HV4500871264", "000051064")
    assert console.gateway.ingestor.ingest(order, "850.x12").accepted
    done = client.post(
        f"/documents/{early}/replay", data={"csrf": csrf_in(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "Taken in again" in after.text
    sets = after.text.split('id="sets"')[1].split("</section>")[0]
    assert "set-cancelled" in sets and "HV4500871264" in sets
    again = client.post(f"/documents/{early}/replay", data={"csrf": csrf_in(after.text)})
    assert again.status_code == 409
    sentence, rule = refusal(again.text, "replay")
    assert "went through; nothing to replay" in sentence
    assert rule == "replay-needs-sets-not-applied"


def test_a_viewer_may_not_act_on_documents_quarantine_or_mail(console: Console):
    client = console.client("vic")
    sent = document_id(console, set_id="997")
    token = csrf_in(client.get("/documents").text)
    for path in (f"/documents/{sent}/resend", "/quarantine/release", "/mail/1/retry"):
        answer = client.post(path, data={"csrf": token, "partner": "harborview", "file": "x"})
        assert answer.status_code == 403, path
        assert "your role (viewer) may not" in answer.text
    assert "Release" not in client.get("/quarantine").text


@pytest.mark.parametrize("path", ["/quarantine", "/partners", "/mail"])
def test_a_partner_user_finds_no_operators_pages(console: Console, path: str):
    client = console.client("pat")
    assert client.get(path).status_code == 404
    assert f'href="{path}"' not in client.get("/documents").text  # nor links to them


# -- quarantine -------------------------------------------------------------------------------


def test_a_file_in_quarantine_is_shown_with_its_report_and_released_after_a_fix(
    console: Console,
):
    good = variant(SAMPLE_850, "HV4500879001", "000059001")
    (inbox(console) / "po-9001.x12").write_bytes(good.replace(b"IEA*1*", b"IEA*2*"))
    (inbox(console) / "850_004010_bad_SE01_count.x12").write_bytes(
        (SAMPLES / "850" / "850_004010_bad_SE01_count.x12").read_bytes()
    )
    console.gateway.runner().run_once()
    client = console.client("olive")
    page = client.get("/quarantine")
    assert page.status_code == 200
    seen = text_of(page.text)
    assert "po-9001.x12" in seen and "850_004010_bad_SE01_count.x12" in seen
    assert "IEA01 says &#39;2&#39; functional groups" in page.text  # its report
    assert "SE01 says &#39;26&#39; segments" in page.text
    broken = next(q for q in console.gateway.files.quarantined() if q.name == "po-9001.x12")
    # released unchanged: refused again, back in quarantine with its new report
    form = {"csrf": csrf_in(page.text), "partner": "harborview", "file": broken.path.name}
    again = client.post("/quarantine/release", data=form)
    assert again.status_code == 200 and "still needs a person" in again.text
    # fixed where it lies, released: taken in, out of quarantine, the order there
    broken.path.write_bytes(good)
    done = client.post("/quarantine/release", data=form, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "po-9001.x12 was taken in (document" in text_of(after.text)
    assert "po-9001.x12" not in after.text.split("<table")[1]
    assert "850_004010_bad_SE01_count.x12" in after.text
    assert console.client("olive").get("/orders/harborview/HV4500879001").status_code == 200
    # the same bytes as a file taken in before: left as it was
    bad = console.gateway.files.quarantined()[0]
    form["file"] = bad.path.name
    same = client.post("/quarantine/release", data=form)
    assert "the same bytes were taken in before" in text_of(same.text)
    # a file that is not there
    form["file"] = "../../gateway.toml"
    refused = client.post("/quarantine/release", data=form)
    assert refused.status_code == 409
    sentence, rule = refusal(refused.text, "release")
    assert "in quarantine for harborview" in sentence and rule == "quarantined-file-exists"


def test_an_empty_quarantine_says_so(console: Console):
    page = console.client("olive").get("/quarantine")
    assert "No file in quarantine." in page.text


# -- partners ---------------------------------------------------------------------------------


def test_the_partners_page_shows_each_partners_health(console: Console):
    (inbox(console) / "bad.x12").write_bytes(
        (SAMPLES / "850" / "850_004010_bad_SE01_count.x12").read_bytes()
    )
    console.gateway.runner().run_once()
    with console.gateway.uow_factory() as uow:
        uow.outages.failed("harborview", dt.datetime.now(dt.UTC), "connection <refused>")
        uow.commit()
    page = console.client("vic").get("/partners")
    assert page.status_code == 200
    harborview = page.text.split('id="partner-harborview"')[1].split("</section>")[0]
    pinecrest = page.text.split('id="partner-pinecrest"')[1].split("</section>")[0]
    assert "They buy from us" in harborview and "folder in=" in harborview
    assert "Mailbox unreachable since" in harborview and "connection &lt;refused&gt;" in harborview
    assert re.search(r'Last received</dt><dd><a href="/documents/\d+">', harborview)
    assert "ship date passed" in harborview and HARBORVIEW_PO in harborview  # late
    assert 'Files in quarantine</dt><dd><a href="/quarantine">1</a>' in harborview
    assert "We buy from them" in pinecrest and "nothing yet" in pinecrest  # nothing received
    assert "pinecrest/in does not exist" in pinecrest  # its inbox folder, never made here


# -- mail -------------------------------------------------------------------------------------


def test_the_mail_page_lists_emails_filters_them_and_retries_a_failed_one(console: Console):
    desk = console.gateway.desk(actor="olive (web)")
    desk.cancel(
        console.pinecrest_po, [], by=Side.BUYER, reason="test over", partner="pinecrest"
    )  # we cancel the order we placed: Pinecrest is told by email
    with console.gateway.uow_factory() as uow:
        (newest, *_older) = uow.outbox.listing(KIND)
        uow.outbox.settle(newest.id, "failed", at=dt.datetime.now(dt.UTC), error="550 <nobody>")
        uow.commit()
    client = console.client("olive")
    page = client.get("/mail")
    assert page.status_code == 200
    row = page.text.split(f'id="email-{newest.id}"')[1].split("</tr>")[0]
    assert "orders@pinecrest.example" in row and "mail-failed" in row
    assert "550 &lt;nobody&gt;" in row and f'action="/mail/{newest.id}/retry"' in row
    queued = client.get("/mail", params={"status": "queued"})
    assert f'id="email-{newest.id}"' not in queued.text and 'id="email-' in queued.text
    assert client.get("/mail", params={"status": "bounced"}).status_code == 400
    done = client.post(
        f"/mail/{newest.id}/retry", data={"csrf": csrf_in(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert f"Email {newest.id} queued again" in after.text
    row = after.text.split(f'id="email-{newest.id}"')[1].split("</tr>")[0]
    assert "mail-queued" in row and "/retry" not in row
    refused = client.post("/mail/999999/retry", data={"csrf": csrf_in(page.text)})
    assert refused.status_code == 409
    sentence, rule = refusal(refused.text, "retry")
    assert sentence == "no email 999999" and rule == "email-exists"
    empty = client.get("/mail", params={"status": "failed"})
    assert "No emails." in empty.text
