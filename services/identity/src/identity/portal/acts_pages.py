"""The portal's acts pages: "Mes actes", an act's page, its download and the
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
import secrets
from collections.abc import Mapping
from typing import Final

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from identity.domain import ACTS_REPLY
from identity.portal import messages
from identity.portal.act_views import ACT_ID, act_line, evidence_lines, file_size
from identity.portal.delivery_api import (
    DeliveryApi,
    DeliveryUnavailableError,
    ReplyTooLargeError,
    Upload,
    part_media_type,
    relayed_form,
    reply_filename,
)
from identity.portal.pages import TEMPLATES_DIR, Portal, PortalRoute, Refusal, redirect
from identity.portal.security import tokens_match
from identity.portal.sessions import PortalSession
from identity.portal.upstream import json_body, relay
from identity.service import Identity
from shared.bodylimit import body_limit
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.portal import FormErrors, PortalTemplates, templates

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 60
REPLY_FIELD: Final = "fichier"
CSRF_FIELD: Final = "csrf_token"
REPLY_SENT: Final = "reponse-deposee"
# Multipart framing and the CSRF part around the file: what a browser adds to its size.
_FORM_OVERHEAD: Final = 16 * 1024
_MAX_CSRF_BYTES: Final = 256


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
        if not ACT_ID.match(act_id):
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
        if not ACT_ID.match(act_id):
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
        if not ACT_ID.match(act_id):
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
                relayed_form(upload, boundary, reply_limit),
                f"multipart/form-data; boundary={boundary}",
            )
        except ReplyTooLargeError:
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

    async def file_part(parts: MultipartReader) -> Upload | str:
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
        return Upload(
            reply_filename(part.filename),
            part_media_type(part.content_type),
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
