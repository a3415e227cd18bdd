"""Documents, quarantine, partners and mail: the pages of `gateway documents`, `gateway report`,
`gateway partners list` and `gateway mail`, and their actions.

The document list takes what `gateway documents list` takes (partner, direction, set, status)
as query parameters, newest first, 50 a page; a partner user sees their partner's only, and
any other document is a 404. A document's page shows what `documents show` shows, with the
acknowledgements answering it, its file validated again and its content, a segment a line.
Quarantine, partners and mail are the operators' pages (a partner user gets a 404). Actions
(resend, replay, release, retry) are POSTs an operator makes, done by the same service calls as
the command line, which queue what is to be sent for the next pass of `gateway run`; done, the
browser is sent back to the page (POST, redirect, GET); refused, the page is drawn again with
the rule's sentence (409).

Everything from a partner's file (a segment, a file name, a report) is shown inert: escaped as
HTML by the templates, and its control characters written out as escapes (`\\x1b`), as the
command line shows them (`gateway.render.safe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from gateway.errors import (
    ActionForbidden,
    DocumentActionRefused,
    FormRefused,
    PageNotFound,
    Refused,
)
from gateway.render import safe
from gateway.service import documents, notify
from gateway.service.pipeline import FileOutcome
from gateway.service.report import partner_health
from gateway.service.views import known_partners
from gateway.web import forms
from gateway.web.console import Console, console_of, posted, refusal_message, signed_in
from gateway.web.forms import Fields
from gateway.web.viewer import Viewer

router = APIRouter()
PAGE_SIZE = 50
MAIL_SHOWN = 100
REPORT_SHOWN = 20_000
"""The characters of a quarantine report shown (the rest is in the file beside it)."""
DONE = {
    "resend": "Queued again: it goes out with the next pass of the gateway.",
    "replay": "Taken in again: what became of each set is below.",
}


def readable(segment: str) -> str:
    """A segment read one byte a character (latin-1, as the codec reads files) as a person
    reads it: UTF-8 when it is, else every byte above ASCII written `\\xNN`; control
    characters written out."""
    data = segment.encode("latin-1")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        decoded = data.decode("ascii", errors="backslashreplace")
    shown: str = safe(decoded)
    return shown


def _operators_only(viewer: Viewer) -> None:
    """The operators' pages: a partner user is told there is nothing here."""
    if viewer.is_partner:
        raise PageNotFound("there is no such page")


def _may_operate(viewer: Viewer, what: str) -> None:
    if not viewer.may("operate"):
        raise ActionForbidden(f"your role ({viewer.role}) may not {what}")


# -- the document list ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The document list's filters as the query string gives them (text, not checked yet)."""

    partner: str = ""
    direction: str = ""
    set_id: str = ""
    status: str = ""

    @classmethod
    def of(cls, params: QueryParams, viewer: Viewer) -> Filters:
        return cls(
            partner=(viewer.partner or "") if viewer.is_partner else params.get("partner", ""),
            direction=params.get("direction", ""),
            set_id=params.get("set", ""),
            status=params.get("status", ""),
        )


@router.get("/documents", response_class=HTMLResponse)
def document_list(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    console = console_of(request)
    params = request.query_params
    chosen = Filters.of(params, viewer)
    names = {
        "directions": list(documents.DIRECTIONS),
        "sets": documents.document_sets(),
        "statuses": documents.document_statuses(),
        "partners": _partners(console, viewer),
    }
    problem, rows, page = "", [], 1
    try:
        page = forms.page_number(params.get("page", "1"))
        rows = documents.list_documents(
            console.uow(),
            partner=forms.one_of("partner", chosen.partner, names["partners"]),
            direction=forms.one_of("direction", chosen.direction, names["directions"]),
            set_id=forms.one_of("set", chosen.set_id, names["sets"]),
            status=forms.one_of("status", chosen.status, names["statuses"]),
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
    except FormRefused as exc:
        problem = exc.message
    kept = [(k, v) for k, v in params.multi_items() if k != "page" and v]
    context = {
        "title": "Documents",
        "names": names,
        "chosen": chosen,
        "problem": problem,
        "documents": [safe(row) for row in rows[:PAGE_SIZE]],
        "page": page,
        "more": len(rows) > PAGE_SIZE,
        "page_url": lambda n: "/documents?" + urlencode([*kept, ("page", str(n))]),
    }
    return console.render(request, "documents.html", context, status_code=400 if problem else 200)


def _partners(console: Console, viewer: Viewer) -> list[str]:
    """The partners a list may be filtered by: the configured ones and those with orders."""
    if viewer.is_partner:
        return [viewer.partner or ""]
    configured = [p.key for p in console.gateway.config.partners]
    return sorted({*configured, *known_partners(console.uow())})


# -- one document -----------------------------------------------------------------------------


def _document_view(request: Request, viewer: Viewer, document_id: int) -> dict[str, Any]:
    """The document as `documents show` gives it, if this user may see it; else a 404."""
    try:
        view = documents.show_document(console_of(request).uow(), document_id)
    except DocumentActionRefused:
        raise PageNotFound(f"no document {document_id}") from None
    if not viewer.sees_partner(view["partner"]):
        raise PageNotFound(f"no document {document_id}")
    return view


def _document_page(
    request: Request,
    viewer: Viewer,
    view: dict[str, Any],
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    gateway = console.gateway
    with console.uow() as uow:
        document = uow.documents.get(view["id"])
        answers = documents.acknowledgements(uow, document) if document is not None else []
    content = documents.content_of(document, gateway.files) if document is not None else None
    found = documents.segments(content) if content is not None else []
    validation = (
        documents.validation_report(document, gateway.files, gateway.ingestor.catalog)
        if document is not None
        else None
    )
    action = request.query_params.get("done", "")
    context = {
        "title": f"Document {view['id']}",
        "document": safe(view),
        "acknowledgements": answers,
        "searched": documents.ACKNOWLEDGEMENTS_SEARCHED,
        "validation": safe(validation),
        "segments": [readable(s) for s in found[: documents.SEGMENTS_SHOWN]],
        "segments_cut": len(found) > documents.SEGMENTS_SHOWN,
        "segments_shown": documents.SEGMENTS_SHOWN,
        "kept": content is not None,
        "operate": viewer.may("operate"),
        "refused": refused or {},
        "said": DONE.get(action, ""),
    }
    return console.render(request, "document.html", context, status_code=status_code)


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    document_id: int,
    viewer: Viewer = Depends(signed_in),  # noqa: B008
) -> Response:
    return _document_page(request, viewer, _document_view(request, viewer, document_id))


@router.post("/documents/{document_id}/{action}")
def document_action(
    request: Request,
    document_id: int,
    action: str,
    fields: Fields = Depends(posted),  # noqa: B008
) -> Response:
    viewer: Viewer = request.state.viewer
    view = _document_view(request, viewer, document_id)
    if action not in DONE:
        raise PageNotFound("there is no such page")
    _may_operate(viewer, f"{action} documents")
    gateway = console_of(request).gateway
    try:
        if action == "resend":
            documents.resend(gateway.uow_factory, document_id, console_of(request).clock())
        else:
            documents.replay(gateway.uow_factory, gateway.ingestor, document_id, gateway.files)
    except Refused as error:
        message, rule = refusal_message(error)
        refused = {"action": action, "message": message, "rule": rule}
        view = _document_view(request, viewer, document_id)
        return _document_page(request, viewer, view, refused=refused, status_code=409)
    return RedirectResponse(f"/documents/{view['id']}?done={action}", status_code=303)


# -- quarantine -------------------------------------------------------------------------------


def _quarantine_page(
    request: Request,
    viewer: Viewer,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    files = []
    for found in console.gateway.files.quarantined():
        report = found.report.read_text(encoding="utf-8", errors="replace")
        files.append(
            {
                "partner": found.partner,
                "name": safe(found.name),
                "stored": found.path.name,
                "day": found.day.isoformat(),
                "why": safe(found.why),
                "report": [safe(line) for line in report[:REPORT_SHOWN].splitlines()],
                "report_cut": len(report) > REPORT_SHOWN,
            }
        )
    params = request.query_params
    context = {
        "title": "Quarantine",
        "files": files,
        "operate": viewer.may("operate"),
        "refused": refused or {},
        "outcome": {
            "status": params.get("done", ""),
            "name": safe(params.get("name", "")),
            "stored": params.get("stored", ""),
            "documents": params.get("documents", ""),
        },
    }
    return console.render(request, "quarantine.html", context, status_code=status_code)


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    _operators_only(viewer)
    return _quarantine_page(request, viewer)


@router.post("/quarantine/release")
def release(request: Request, fields: Fields = Depends(posted)) -> Response:  # noqa: B008
    """Take a quarantined file in again, as `gateway ingest` takes a file (operators)."""
    viewer: Viewer = request.state.viewer
    _operators_only(viewer)
    _may_operate(viewer, "release files from quarantine")
    try:
        partner = forms.text(fields, "partner", required=True, limit=200)
        stored = forms.text(fields, "file", required=True, limit=300)
        outcome = console_of(request).gateway.pipeline.release(partner, stored)
    except (FormRefused, DocumentActionRefused) as error:
        message, rule = refusal_message(error)
        refused = {"action": "release", "message": message, "rule": rule}
        status = 422 if isinstance(error, FormRefused) else 409
        return _quarantine_page(request, viewer, refused=refused, status_code=status)
    return RedirectResponse("/quarantine?" + urlencode(_released(outcome)), status_code=303)


def _released(outcome: FileOutcome) -> dict[str, str]:
    """What the quarantine page says of a file released: its outcome, where it is now."""
    ids = outcome.result.document_ids if outcome.result is not None else []
    return {
        "done": outcome.status,
        "name": outcome.name,
        "stored": outcome.quarantined.name if outcome.quarantined is not None else "",
        "documents": ",".join(str(i) for i in ids),
    }


# -- partners and mail ------------------------------------------------------------------------


@router.get("/partners", response_class=HTMLResponse)
def partners(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    _operators_only(viewer)
    console = console_of(request)
    gateway = console.gateway
    health = partner_health(
        gateway.uow_factory, gateway.files, gateway.config.partners, console.clock()
    )
    context = {"title": "Partners", "partners": [safe(row) for row in health]}
    return console.render(request, "partners.html", context)


def _mail_page(
    request: Request,
    viewer: Viewer,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    params = request.query_params
    status = params.get("status", "")
    problem, emails = "", []
    try:
        chosen = forms.one_of("status", status, notify.MAIL_STATUSES)
        emails = notify.list_mail(console.uow(), status=chosen, limit=MAIL_SHOWN)
    except FormRefused as exc:
        problem = exc.message
    context = {
        "title": "Mail",
        "statuses": notify.MAIL_STATUSES,
        "chosen": status,
        "problem": problem,
        "emails": [safe(row) for row in emails],
        "shown": MAIL_SHOWN,
        "operate": viewer.may("operate"),
        "refused": refused or {},
        "retried": params.get("retried", ""),
    }
    if problem and status_code == 200:
        status_code = 400
    return console.render(request, "mail.html", context, status_code=status_code)


@router.get("/mail", response_class=HTMLResponse)
def mail(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    _operators_only(viewer)
    return _mail_page(request, viewer)


@router.post("/mail/{outbox_id}/retry")
def retry(
    request: Request,
    outbox_id: int,
    fields: Fields = Depends(posted),  # noqa: B008
) -> Response:
    """Send an email again with the next pass (operators), as `gateway mail retry` does."""
    viewer: Viewer = request.state.viewer
    _operators_only(viewer)
    _may_operate(viewer, "retry emails")
    console = console_of(request)
    try:
        notify.retry_mail(console.gateway.uow_factory, outbox_id, console.clock())
    except Refused as error:
        message, rule = refusal_message(error)
        refused = {"action": "retry", "message": message, "rule": rule}
        return _mail_page(request, viewer, refused=refused, status_code=409)
    return RedirectResponse(f"/mail?retried={outbox_id}", status_code=303)
