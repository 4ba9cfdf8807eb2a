"""The portal's acts pages (issue 6 item 10): "Mes actes", an act's page, its download and the
recipient's reply.

Delivery owns the acts; these pages read them and post replies through delivery's `/v1/inbox`
API, server-side, exactly as the consent pages do with consent: for each call the portal signs
an access token for the signed-in session (same subject, role, scopes and session id) whose
audience is delivery alone. The token never reaches the browser.

*Prise de connaissance* (LEGAL.md open question 2, CPC 662-1): only the opening or download of
the act's content counts. The act's page shows metadata and evidence without the content, so it
never calls delivery's `/content` route; the download link does, once per click.

Bodies are relayed, never held whole: the PDF goes from delivery's response to the browser
chunk by chunk, and a reply goes from the browser's multipart upload to delivery's as it
arrives (Starlette's form parser would spool the whole file first, so the route reads the raw
stream with the shared streaming multipart reader). The CSRF field comes before the file in
the form, so the token is checked before a byte of the file is forwarded.

Delivery unreachable, or answering something these pages do not expect, gives a polite 503.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from identity.domain import ACTS_REPLY
from identity.portal import messages
from identity.portal.pages import TEMPLATES_DIR, Portal, PortalRoute, Refusal, redirect
from identity.portal.security import tokens_match
from identity.portal.sessions import PortalSession
from identity.portal.statement import NATURES
from identity.portal.upstream import (
    UpstreamApi,
    UpstreamUnavailableError,
    json_body,
    relay,
)
from identity.service import Identity
from shared.bodylimit import body_limit
from shared.contracts.delivery import ServiceQuality
from shared.contracts.notify import Channel
from shared.french import french_date, legal_datetime
from shared.legal_calendar import Territory
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.portal import FormErrors, PortalTemplates, templates

log = logging.getLogger(__name__)

DELIVERY_AUDIENCE: Final = "delivery"
RETRY_AFTER_SECONDS: Final = 60
REPLY_FIELD: Final = "fichier"
CSRF_FIELD: Final = "csrf_token"
REPLY_SENT: Final = "reponse-deposee"
# Delivery's ids (time-ordered, URL-safe): anything else is refused before reaching its API.
_ACT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Multipart framing and the CSRF part around the file: what a browser adds to its size.
_FORM_OVERHEAD: Final = 16 * 1024
_MAX_CSRF_BYTES: Final = 256
_UNSAFE_NAME: Final = re.compile(r'[\x00-\x1f\x7f"\\/]')
_MEDIA_TYPE: Final = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")

QUALITIES: Final = {
    ServiceQuality.A_PERSONNE.value: "Signifié à personne",
    ServiceQuality.A_DOMICILE.value: "Signifié à domicile",
}
# A notice's channel, as the evidence records it (`details.channel`), in the label's words.
CHANNELS: Final = {Channel.EMAIL.value: "par courriel", Channel.SMS.value: "par SMS"}
NOTIFICATION_EVIDENCE: Final = frozenset(
    {"ConsignmentNotification", "ConsignmentNotificationFailure"}
)
EVIDENCE_LABELS: Final = {
    "ContentConsignment": "Dépôt de l'acte sur la plateforme (date légale de signification)",
    "ConsignmentNotification": "Avis de signification envoyé",
    "ConsignmentNotificationFailure": "Échec de l'envoi de l'avis",
    "ContentHandover": "Prise de connaissance (première ouverture du document)",
    "ServiceQualityDetermination": "Qualification de la signification",
    "RelayToNonERDS": "Lettre simple à envoyer par le commissaire de justice",
    "ReplyReceived": "Réponse reçue",
}


class DeliveryUnavailableError(UpstreamUnavailableError):
    """Delivery did not answer, or answered what the portal cannot show."""


class _ReplyTooLargeError(Exception):
    """The browser's file went past the reply limit while being relayed."""


@dataclass(frozen=True)
class LegalTime:
    """Instants shown in the recipient's legal time (the territory delivery served in), named,
    written as the notices write them."""

    territory: Territory

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return legal_datetime(value, self.territory, weekday=False)


def legal_time_of(recipient_territory: object) -> LegalTime:
    """The territory delivery names for the act; Paris's legal time (named) when it names none
    this release knows."""
    try:
        return LegalTime(Territory(str(recipient_territory)))
    except ValueError:
        return LegalTime(Territory.METROPOLE)


@dataclass(frozen=True)
class ActLine:
    """One act as the inbox list and the act's page show it."""

    id: str
    nature: str
    title: str
    requester: str
    office: str
    served_at: datetime | None
    read: bool
    handed_over_at: datetime | None
    status: str
    size: int | None
    sha256: str
    when: LegalTime


@dataclass(frozen=True)
class EvidenceLine:
    label: str
    at: datetime
    detail: str = ""


def act_line(view: Mapping[str, Any]) -> ActLine | None:
    """Delivery's recipient view of an act in the page's terms; None for an unusable id."""
    act_id = str(view.get("id", ""))
    if not _ACT_ID.match(act_id):
        return None
    served_at = _instant(view.get("served_at"))
    nature = str(view.get("nature", ""))
    quality = view.get("quality")
    size = view.get("size")
    return ActLine(
        id=act_id,
        nature=NATURES.get(nature, nature),
        title=str(view.get("title") or ""),
        requester=str(view.get("requester_name") or ""),
        office=str(view.get("office_name") or ""),
        served_at=served_at,
        read=bool(view.get("read")),
        handed_over_at=_instant(view.get("handed_over_at")),
        status=QUALITIES.get(str(quality), "Signifié") if quality else "Signifié",
        size=size if isinstance(size, int) else None,
        sha256=str(view.get("sha256") or ""),
        when=legal_time_of(view.get("recipient_territory")),
    )


def evidence_lines(evidence_set: Mapping[str, Any]) -> list[EvidenceLine]:
    """The evidence set's steps the recipient cares about, in time order, in French."""
    lines = []
    for record in evidence_set.get("evidence") or []:
        if not isinstance(record, Mapping):
            continue
        kind = str(record.get("type"))
        at = _instant(record.get("instant"))
        if kind not in EVIDENCE_LABELS or at is None:
            continue
        details = record.get("details")
        detail = ""
        label = EVIDENCE_LABELS[kind]
        if kind in NOTIFICATION_EVIDENCE and isinstance(details, Mapping):
            # The channel the evidence names (e-mail or SMS), never guessed.
            channel = CHANNELS.get(str(details.get("channel")))
            label = f"{label} {channel}" if channel else label
        if kind == "ServiceQualityDetermination" and isinstance(details, Mapping):
            detail = QUALITIES.get(str(details.get("quality")), "")
        elif kind == "RelayToNonERDS" and isinstance(details, Mapping):
            due = details.get("lettre_simple_due_on")
            detail = f"au plus tard le {french_date(str(due))}" if isinstance(due, str) else ""
        lines.append(EvidenceLine(label, at, detail))
    return lines


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def reply_filename(raw: str | None) -> str:
    """The browser's file name as delivery may journal it: its last path segment, without
    control characters or quotes, 120 characters at most."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return cleaned or "reponse"


def file_size(size: int) -> str:
    """`20 Mo`, `1,5 Mo`, `4 Ko`: a size as the form's hint writes it (1 Mo = 1 024 Ko)."""
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} Ko"
    text = f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} Mo"


class DeliveryApi(UpstreamApi):
    """Delivery's `/v1/inbox` API on behalf of one portal session."""

    unavailable = DeliveryUnavailableError

    def __init__(self, identity: Identity, http: httpx.AsyncClient) -> None:
        super().__init__(identity, http, audience=DELIVERY_AUDIENCE)

    async def get(self, session: PortalSession, path: str) -> httpx.Response:
        return await self.request(session, "GET", path)

    async def post_stream(
        self, session: PortalSession, path: str, body: AsyncIterator[bytes], content_type: str
    ) -> httpx.Response:
        """POST a body produced as it goes (chunked: its length is not known in advance)."""
        return await self.request(session, "POST", path, content=body, content_type=content_type)

    async def json(self, session: PortalSession, path: str) -> dict[str, Any] | None:
        """Delivery's JSON answer, or None on 404 (no such act for this recipient)."""
        response = await self.get(session, path)
        if response.status_code == 404:
            return None
        body = json_body(response) if response.status_code == 200 else {}
        if not body:
            raise self.unexpected(f"GET {path}", response)
        return body


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _ReplyTooLargeError
        yield chunk


@dataclass(frozen=True)
class _Upload:
    """The browser's file part, its first bytes already read (an empty file has none)."""

    filename: str
    content_type: str
    first: bytes
    rest: AsyncIterator[bytes]


async def _relayed_form(upload: _Upload, boundary: str, limit: int) -> AsyncIterator[bytes]:
    """Delivery's `multipart/form-data` body: one `file` part, streamed from the browser's."""

    async def file_bytes() -> AsyncIterator[bytes]:
        yield upload.first
        async for chunk in upload.rest:
            yield chunk

    yield (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{upload.filename}"\r\n'
        f"Content-Type: {upload.content_type}\r\n\r\n"
    ).encode()
    async for chunk in _limited(file_bytes(), limit):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def acts_pages_router(
    identity: Identity,
    http: httpx.AsyncClient,
    pages: PortalTemplates | None = None,
    *,
    reply_max_bytes: int | None = None,
) -> APIRouter:
    """The acts pages, calling delivery through `http` (its base URL is delivery's).
    `reply_max_bytes` is the reply size the form announces and the relay enforces (delivery
    keeps its own limit; keep both equal)."""
    portal = Portal(identity, pages or templates(TEMPLATES_DIR))
    delivery = DeliveryApi(identity, http)
    reply_limit = reply_max_bytes or identity.ctx.settings.reply_max_bytes
    router = APIRouter(include_in_schema=False, route_class=PortalRoute)

    async def reader(request: Request) -> PortalSession:
        """A signed-in recipient past the CGU gate; a terminated one reads, read-only."""
        session = await portal.signed_in(request)
        if session.terms_pending:
            raise Refusal(redirect("/cgu"))
        if not session.is_recipient:
            raise Refusal(
                error_page(
                    session,
                    "Page réservée aux destinataires",
                    "Cette page présente les actes signifiés à un destinataire : votre compte "
                    "n'en reçoit pas.",
                    status_code=403,
                )
            )
        return session

    def may_reply(session: PortalSession) -> bool:
        return ACTS_REPLY in session.scopes and not session.terminated

    def error_page(
        session: PortalSession,
        title: str,
        message: str,
        *,
        status_code: int,
        next_url: str = "/actes",
        next_label: str = "Revenir à mes actes",
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        return portal.error_page(
            session,
            title,
            message,
            status_code=status_code,
            next_url=next_url,
            next_label=next_label,
            headers=headers,
        )

    def unavailable(session: PortalSession) -> HTMLResponse:
        return error_page(
            session,
            "Service momentanément indisponible",
            "Le service de mise à disposition des actes ne répond pas pour le moment. Vos actes "
            "ne sont pas affectés : réessayez dans quelques minutes.",
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def no_act(session: PortalSession) -> HTMLResponse:
        return error_page(
            session,
            "Acte introuvable",
            "Cet acte n'existe pas ou ne vous a pas été signifié.",
            status_code=404,
        )

    def reply_refused(session: PortalSession, act_id: str) -> HTMLResponse:
        return error_page(
            session,
            "Réponse impossible",
            "Votre compte est résilié : il reste consultable en lecture seule, vous pouvez "
            "télécharger vos actes mais plus y répondre.",
            status_code=403,
            next_url=f"/actes/{act_id}",
            next_label="Revenir à l'acte",
        )

    async def act_page(
        session: PortalSession,
        act_id: str,
        *,
        errors: FormErrors | None = None,
        status_code: int = 200,
        notices: list[dict[str, str]] | None = None,
    ) -> HTMLResponse:
        view = await delivery.json(session, f"/v1/inbox/{act_id}")
        act = act_line(view) if view is not None else None
        if act is None or act.id != act_id:
            return no_act(session)
        # The evidence set, never the content: showing this page is no prise de connaissance.
        evidence = await delivery.json(session, f"/v1/inbox/{act_id}/evidence")
        if evidence is None:
            return no_act(session)
        return portal.session_page(
            session,
            "identity/actes_acte.html",
            {
                "page_title": act.title or act.nature,
                "act": act,
                "evidence": evidence_lines(evidence),
                "may_reply": may_reply(session),
                "reply_field": REPLY_FIELD,
                "reply_limit": file_size(reply_limit),
                "errors": errors,
                "notices": notices or [],
            },
            status_code=status_code,
        )

    @router.get("/actes")
    async def inbox(request: Request, info: str | None = None) -> Response:
        session = await reader(request)
        try:
            body = await delivery.json(session, "/v1/inbox")
        except DeliveryUnavailableError:
            return unavailable(session)
        items = (body or {}).get("items")
        acts = [
            line
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, Mapping) and (line := act_line(item)) is not None
        ]
        return portal.session_page(
            session,
            "identity/actes.html",
            {"page_title": "Mes actes", "acts": acts, "notices": messages.notices(info)},
        )

    @router.get("/actes/{act_id}")
    async def act(request: Request, act_id: str, info: str | None = None) -> Response:
        session = await reader(request)
        if not _ACT_ID.match(act_id):
            return no_act(session)
        notices = []
        if info == REPLY_SENT:
            notices.append(
                {
                    "kind": "succes",
                    "text": "Votre réponse a été transmise au commissaire de justice.",
                }
            )
        try:
            return await act_page(session, act_id, notices=notices)
        except DeliveryUnavailableError:
            return unavailable(session)

    @router.get("/actes/{act_id}/contenu")
    async def content(request: Request, act_id: str) -> Response:
        session = await reader(request)
        if not _ACT_ID.match(act_id):
            return no_act(session)
        try:
            upstream = await delivery.open_stream(session, f"/v1/inbox/{act_id}/content")
        except DeliveryUnavailableError:
            return unavailable(session)
        media_type = upstream.headers.get("content-type", "").split(";")[0].strip()
        if upstream.status_code == 200 and media_type == "application/pdf":
            headers = {"Content-Disposition": f'attachment; filename="acte-{act_id}.pdf"'}
            for name in ("content-length", "content-encoding", "x-content-sha256"):
                if name in upstream.headers:
                    headers[name] = upstream.headers[name]
            return StreamingResponse(
                relay(upstream, raw=True), media_type=media_type, headers=headers
            )
        await upstream.aclose()
        if upstream.status_code == 404:
            return no_act(session)
        delivery.unexpected(f"GET /v1/inbox/{act_id}/content", upstream)
        return unavailable(session)

    @router.post("/actes/{act_id}/reponses")
    @body_limit(None)  # streamed and limited here (`reply_limit`), refused with a page
    async def reply(request: Request, act_id: str) -> Response:
        session = await reader(request)
        if not _ACT_ID.match(act_id):
            return no_act(session)
        if not may_reply(session):
            return reply_refused(session, act_id)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > reply_limit + _FORM_OVERHEAD:
            return await refused_reply(session, act_id, too_large(), close=True)
        try:
            parts = MultipartReader(
                request.stream(), boundary_of(request.headers.get("content-type"))
            )
            await check_csrf(session, parts)
            upload = await file_part(parts)
        except MultipartError:
            raise portal.forbidden(session) from None
        if isinstance(upload, str):
            errors = FormErrors()
            errors.add(REPLY_FIELD, upload)
            return await refused_reply(session, act_id, errors)
        boundary = f"securact-portail-{secrets.token_hex(16)}"
        try:
            response = await delivery.post_stream(
                session,
                f"/v1/inbox/{act_id}/replies",
                _relayed_form(upload, boundary, reply_limit),
                f"multipart/form-data; boundary={boundary}",
            )
        except _ReplyTooLargeError:
            return await refused_reply(session, act_id, too_large(), close=True)
        except MultipartError:
            errors = FormErrors()
            errors.add(REPLY_FIELD, "L'envoi du fichier a été interrompu : recommencez.")
            return await refused_reply(session, act_id, errors)
        except DeliveryUnavailableError:
            return unavailable(session)
        if response.status_code in (200, 201, 202):
            log.info("portal: reply relayed for session %s", session.session_id)
            # Post/redirect/get: a reload of the act's page never posts the reply again.
            return redirect(f"/actes/{act_id}", REPLY_SENT)
        if response.status_code == 404:
            return no_act(session)
        if response.status_code == 403:
            return reply_refused(session, act_id)
        reason = refusal_reason(response)
        if reason is None:
            delivery.unexpected(f"POST /v1/inbox/{act_id}/replies", response)
            return unavailable(session)
        return await refused_reply(session, act_id, reason)

    async def check_csrf(session: PortalSession, parts: MultipartReader) -> None:
        # The form puts the token first: nothing of the file is read before it is checked.
        first = await parts.next_part()
        if first is None or first.name != CSRF_FIELD:
            raise portal.forbidden(session)
        token = b""
        async for chunk in parts.chunks():
            token += chunk
            if len(token) > _MAX_CSRF_BYTES:
                raise portal.forbidden(session)
        if not tokens_match(token.decode("utf-8", "replace"), session.csrf_token):
            log.info("portal: reply refused (CSRF) for session %s", session.session_id)
            raise portal.forbidden(session)

    async def file_part(parts: MultipartReader) -> _Upload | str:
        """The browser's file, ready to relay; or why there is none to send."""
        part = await parts.next_part()
        while part is not None and part.name != REPLY_FIELD:
            part = await parts.next_part()
        if part is None or not part.filename:
            return "Choisissez le fichier de votre réponse."
        chunks = parts.chunks()
        first = b""
        async for chunk in chunks:
            if chunk:
                first = chunk
                break
        if not first:
            return "Le fichier choisi est vide : choisissez un autre fichier."
        return _Upload(
            reply_filename(part.filename),
            _part_media_type(part.content_type),
            first,
            chunks,
        )

    def too_large() -> FormErrors:
        errors = FormErrors()
        errors.add(
            REPLY_FIELD,
            f"Le fichier dépasse la taille maximale de {file_size(reply_limit)} : réduisez-le "
            "(par exemple en numérisant en noir et blanc) ou envoyez un autre fichier.",
        )
        return errors

    def refusal_reason(response: httpx.Response) -> FormErrors | None:
        """Delivery's refusal of the file, told politely next to the field; None when the
        answer is no refusal of the file (the page then says delivery is unavailable)."""
        problem = json_body(response)
        kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
        errors = FormErrors()
        if response.status_code == 413:
            return too_large()
        if response.status_code not in (415, 422):
            return None
        if any(word in kind for word in ("malware", "infected", "virus")):
            errors.add(
                REPLY_FIELD,
                "Notre contrôle antivirus a détecté un logiciel malveillant dans ce fichier : "
                "il n'a pas été transmis. Vérifiez votre ordinateur et envoyez un autre fichier.",
            )
        elif "empty" in kind:
            errors.add(REPLY_FIELD, "Le fichier choisi est vide : choisissez un autre fichier.")
        else:
            errors.add(
                REPLY_FIELD,
                "Ce fichier n'a pas pu être accepté : envoyez un document PDF ou une image JPEG "
                "ou PNG lisible.",
            )
        return errors

    async def refused_reply(
        session: PortalSession, act_id: str, errors: FormErrors, *, close: bool = False
    ) -> Response:
        status = 413 if close else 422
        try:
            page = await act_page(session, act_id, errors=errors, status_code=status)
        except DeliveryUnavailableError:
            return unavailable(session)
        if close:
            # The rest of the upload is not read: the browser must not reuse the connection.
            page.headers["Connection"] = "close"
        return page

    return router


def _part_media_type(value: str | None) -> str:
    """The browser's claimed type, if it is a plain `type/subtype` (delivery checks the bytes
    anyway); `application/octet-stream` otherwise."""
    media = (value or "").split(";")[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else "application/octet-stream"
