"""The CGU pages: read, accept (validating the declaration the page showed), refuse, or
contest the declaration."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.pages import (
    CONFIRMED,
    Portal,
    client_ip,
    field,
    landing,
    redirect,
    refusal_page,
    terms_html,
)
from identity.portal.sessions import PortalSession
from identity.portal.statement import (
    MAX_REASON,
    PARTS,
    Answer,
    StatementApi,
    StatementUnavailableError,
)
from identity.terms import TermsVersion
from shared.portal import FormErrors


def terms_pages(router: APIRouter, portal: Portal, statements: StatementApi | None) -> None:
    """The CGU, their acceptance (bound to the declaration shown) or refusal, and the
    contestation of the declaration. Without `statements` the CGU are shown alone."""
    identity = portal.identity

    def consent_down(session: PortalSession) -> HTMLResponse:
        return portal.error_page(
            session,
            "Service momentanément indisponible",
            "Votre déclaration de consentement ne peut pas être affichée pour le moment : vous "
            "ne pouvez donc pas encore y répondre. Réessayez dans quelques minutes.",
            status_code=503,
            next_url="/cgu",
            next_label="Revenir aux conditions générales",
            headers={"Retry-After": "60"},
        )

    def first_answer(session: PortalSession | None) -> bool:
        """A first version to answer: accepting it is the consent, so the declaration shown
        is validated (or contested) with it."""
        return (
            session is not None
            and session.is_recipient
            and not session.terminated
            and session.terms_pending
        )

    def answerable(session: PortalSession | None) -> bool:
        """A first version, or a later one binding the account unanswered."""
        return first_answer(session) or (
            session is not None
            and session.is_recipient
            and not session.terminated
            and session.terms_answer_pending
        )

    async def shown(session: PortalSession | None) -> tuple[TermsVersion, datetime | None]:
        """The version the page is about and since when it binds the account: for a person
        with an answer pending, the version binding them (a later one may be in force for
        others already); else the version in force."""
        if session is not None and answerable(session) and session.terms_answer_pending:
            standing = await identity.terms.for_account(session.account_id)
            number = standing.binding_version
            if number is not None:
                binds = next((n.binds_from for n in standing.notices if n.version == number), None)
                return await identity.terms.version(number), binds
        return await identity.terms.current(), None

    @router.get("/cgu")
    async def terms(request: Request, info: str | None = None) -> Response:
        session = await portal.session(request)
        current, binds_from = await shown(session)
        statement = None
        if statements is not None and session is not None and first_answer(session):
            try:
                statement = await statements.statement(session)
            except StatementUnavailableError:
                return consent_down(session)
        context = {
            "page_title": "Conditions générales d'utilisation",
            "terms": current,
            "terms_html": terms_html(current.markdown),
            "upcoming": await identity.terms.upcoming(),
            "answerable": answerable(session),
            "answer_pending": answerable(session) and not first_answer(session),
            "binds_from": binds_from,
            # The acceptance binds the declaration: none to show, no acceptance offered.
            "declaration_wired": statements is not None,
            "statement": statement,
            "notices": messages.notices(info),
        }
        if session is None:
            return portal.pages.response("identity/cgu.html", context)
        return portal.session_page(session, "identity/cgu.html", context)

    @router.post("/cgu/acceptation")
    async def accept(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        declaration_hash = None
        if statements is not None and first_answer(session):
            try:
                held = await declaration_validated(session, field(form, "declaration"))
            except StatementUnavailableError:
                return consent_down(session)
            if isinstance(held, Response):
                return held
            declaration_hash = held
        try:
            await identity.terms.accept(
                session.account_id,
                version=_version(field(form, "version")),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
                declaration_hash=declaration_hash,
            )
        except IdentityError as error:
            if error.code == "terms-version-changed":
                return redirect("/cgu", "nouvelle-version")
            return refusal_page(portal, session, error)
        return redirect(landing(str(session.account["role"])), "cgu-acceptees")

    async def declaration_validated(session: PortalSession, shown: str) -> Response | str | None:
        """Validate at consent the declaration the page showed (its hash) before the CGU are
        accepted: the hash validated, None when already in force, or a response when the
        acceptance must not go on."""
        assert statements is not None
        statement = await statements.statement(session)
        if statement is None or statement.contested:
            return redirect("/cgu")
        if not statement.answerable:
            return None  # already in force (a new CGU version): nothing more to validate
        if not shown:
            return redirect("/cgu", "declaration-modifiee")
        answer = await statements.validate(session, shown)
        if answer is Answer.CHANGED:
            return redirect("/cgu", "declaration-modifiee")
        return shown if answer is Answer.DONE else redirect("/cgu")

    def contestation_form(
        session: PortalSession,
        content_hash: str,
        *,
        chosen: list[str],
        reason: str,
        errors: FormErrors | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        return portal.session_page(
            session,
            "identity/cgu_declaration_refus.html",
            {
                "page_title": "Refuser ma déclaration",
                "content_hash": content_hash,
                "parts": PARTS,
                "chosen": chosen,
                "reason": reason,
                "max_reason": MAX_REASON,
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.get("/cgu/declaration/refus")
    async def contestation_page(request: Request) -> Response:
        session = await portal.signed_in(request)
        if statements is None or not first_answer(session):
            return redirect("/cgu")
        try:
            statement = await statements.statement(session)
        except StatementUnavailableError:
            return consent_down(session)
        if statement is None or not statement.answerable:
            return redirect("/cgu")
        return contestation_form(session, statement.content_hash, chosen=[], reason="", errors=None)

    @router.post("/cgu/declaration/refus")
    async def contest(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        if statements is None or not first_answer(session):
            return redirect("/cgu")
        shown = field(form, "declaration")
        chosen = [p for p in form.getlist("parties") if isinstance(p, str) and p in PARTS]
        motif = form.get("motif")
        reason = motif[: MAX_REASON + 1].strip() if isinstance(motif, str) else ""
        errors = FormErrors()
        if not chosen:
            errors.add("parties", "Cochez au moins une partie inexacte de la déclaration.")
        if not reason:
            errors.add("motif", "Expliquez ce qui est inexact, pour le commissaire de justice.")
        elif len(reason) > MAX_REASON:
            errors.add("motif", f"Votre explication dépasse {MAX_REASON} caractères.")
        if errors:
            return contestation_form(
                session, shown, chosen=chosen, reason=reason, errors=errors, status_code=422
            )
        try:
            answer = await statements.contest(session, shown, chosen, reason)
        except StatementUnavailableError:
            return consent_down(session)
        if answer is Answer.CHANGED:
            return redirect("/cgu", "declaration-modifiee")
        return redirect("/cgu")

    def refusal_form(
        session: PortalSession, version: int, errors: FormErrors | None, status_code: int = 200
    ) -> HTMLResponse:
        return portal.session_page(
            session,
            "identity/cgu_refus.html",
            {
                "page_title": "Refuser les conditions générales",
                "version": version,
                "leads_to_termination": session.account.get("accepted_terms_version") is not None,
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.get("/cgu/refus")
    async def refusal_confirmation(request: Request) -> Response:
        session = await portal.signed_in(request)
        if not answerable(session):
            return redirect("/compte")
        current, _ = await shown(session)
        return refusal_form(session, current.version, None)

    @router.post("/cgu/refus")
    async def refuse(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        version = _version(field(form, "version"))
        if field(form, "confirmation") != CONFIRMED:
            errors = FormErrors()
            errors.add("confirmation", "Cochez la case pour confirmer votre refus.")
            current = version or (await shown(session))[0].version
            return refusal_form(session, current, errors, status_code=422)
        try:
            decision = await identity.terms.refuse(
                session.account_id,
                version=version,
                session_id=session.session_id,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except IdentityError as error:
            if error.code == "terms-version-changed":
                return redirect("/cgu", "nouvelle-version")
            return refusal_page(portal, session, error)
        await portal.sessions.forget(session)
        return portal.ended("refus-resiliation" if decision.terminated else "refus")


def _version(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) < 9 else None
