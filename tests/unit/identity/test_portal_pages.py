"""The portal's pages on identity's use cases: activation, login (+TOTP, throttling), CGU
acceptance and refusal, the account page and its forms, termination, logout, reset."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from identity import totp
from identity.portal.pages import terms_html
from identity.records import SESSIONS
from tests.unit.identity.support import PASSWORD, Rig, token_of
from tests.unit.identity.test_portal_helpers import (
    activate,
    browser,
    csrf_of,
    outline,
    signed_in_recipient,
    submit,
)

NEW_PASSWORD = "girafe-lumineuse-sous-la-pluie"


async def post_login(
    client: httpx.AsyncClient, identifier: str, password: str = PASSWORD, code: str = ""
) -> httpx.Response:
    data = {"identifiant": identifier, "mot_de_passe": password}
    if code:
        data["code"] = code
    return await submit(client, "/connexion", "/connexion", data)


def error_summary(html: str) -> str:
    found = re.search(r'<div class="resume-erreurs".*?</div>', html, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


async def test_root_leads_to_login_then_a_recipient_lands_on_mes_actes_once_signed_in(
    rig: Rig,
) -> None:
    async with browser(rig) as client:
        assert (await client.get("/")).headers["location"] == "/connexion"
        await signed_in_recipient(rig, client)
        assert (await client.get("/")).headers["location"] == "/actes"
        assert (await client.get("/connexion")).headers["location"] == "/actes"


async def test_activation_sets_the_password_signs_in_and_shows_the_cgu(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await rig.declare()
        token = await rig.activation_token(account_id)
        page = await client.get(f"/activation?token={token}")
        assert page.status_code == 200
        assert "Activer votre compte" in page.text
        assert "Au moins 12 caractères" in page.text
        assert f'name="token" value="{token}"' in page.text

        await activate(rig, client, "decl-2")
        cgu = await client.get("/cgu?info=compte-active")
        assert "Votre compte est activé" in cgu.text
        assert "J&#39;accepte les conditions générales (version 1)" in cgu.text
        # The CGU gate: the account page is not reachable before the answer.
        assert (await client.get("/compte")).headers["location"] == "/cgu"


async def test_a_weak_password_is_refused_next_to_the_field(rig: Rig) -> None:
    async with browser(rig) as client:
        token = await rig.activation_token(await rig.declare())
        cases = [
            ("court", "court", "au moins 12 caractères"),
            ("motdepasse2024!", "motdepasse2024!", "trop courant"),
            (NEW_PASSWORD, NEW_PASSWORD + "x", "ne sont pas identiques"),
        ]
        for password, confirmation, message in cases:
            refused = await submit(
                client,
                f"/activation?token={token}",
                "/activation",
                {"token": token, "mot_de_passe": password, "confirmation": confirmation},
            )
            assert refused.status_code == 422
            assert message in refused.text
            assert "<title>Erreur : Activer votre compte" in refused.text
            assert outline(refused.text).summary_links in (["mot_de_passe"], ["confirmation"])
            assert 'aria-invalid="true"' in refused.text
        # The link is still usable after refused passwords.
        assert await rig.identity.accounts.activate(token, NEW_PASSWORD)


async def test_a_used_or_missing_activation_link_says_so_without_a_form(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await rig.declare()
        token = await rig.activation_token(account_id)
        form = await client.get(f"/activation?token={token}")
        await rig.identity.accounts.activate(token, PASSWORD)
        # Used between the page and the post: the post says so.
        replay = await client.post(
            "/activation",
            data={
                "csrf_token": csrf_of(form.text),
                "token": token,
                "mot_de_passe": NEW_PASSWORD,
                "confirmation": NEW_PASSWORD,
            },
        )
        assert replay.status_code == 410
        assert "lien expiré ou déjà utilisé" in replay.text
        assert 'name="mot_de_passe"' not in replay.text
        # Opened again: the page says so at once, before any password is typed.
        reopened = await client.get(f"/activation?token={token}")
        assert reopened.status_code == 410
        assert "lien expiré ou déjà utilisé" in reopened.text
        assert 'name="mot_de_passe"' not in reopened.text
        missing = await client.get("/activation")
        assert missing.status_code == 400
        assert "incomplet" in missing.text


async def test_unknown_identifier_and_wrong_password_get_the_same_message(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    async with browser(rig) as client:
        wrong = await post_login(client, identifier, "pas-le-bon-mot-de-passe")
        unknown = await post_login(client, "ZZZZ-ZZZZ-ZZZZ", "pas-le-bon-mot-de-passe")
    assert wrong.status_code == unknown.status_code == 401
    message = "Identifiant ou mot de passe incorrect."
    assert message in wrong.text
    assert message in unknown.text

    assert error_summary(wrong.text) == error_summary(unknown.text)


async def test_empty_login_fields_are_errors_linked_to_the_fields(rig: Rig) -> None:
    async with browser(rig) as client:
        empty = await post_login(client, "", "")
    assert empty.status_code == 422
    assert outline(empty.text).summary_links == ["identifiant", "mot_de_passe"]
    assert "Saisissez votre identifiant." in empty.text


async def test_throttled_logins_say_politely_how_long_to_wait(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    async with browser(rig) as client:
        for _ in range(5):
            assert (await post_login(client, identifier, "mauvais-mot-de-passe")).status_code == 401
        locked = await post_login(client, identifier, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "1"
    assert "Trop de tentatives infructueuses" in locked.text
    assert "réessayez dans 1 seconde." in locked.text


async def test_a_login_leads_to_the_cgu_until_they_are_accepted(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient(accept_terms=False)
    async with browser(rig) as client:
        done = await post_login(client, await rig.identifier(account_id))
        assert done.status_code == 303
        assert done.headers["location"] == "/cgu"
        accepted = await submit(client, "/cgu", "/cgu/acceptation", {"version": "1"})
        assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
    [event] = await rig.payloads("identity.terms-accepted.v1")
    assert event["account_id"] == account_id
    decision = await rig.store.get("terms_decisions", f"{account_id}:1")
    assert decision is not None
    assert decision["ip"] == "198.51.100.7"
    assert decision["user_agent"].startswith("python-httpx")


async def test_the_cgu_page_shows_version_date_hash_and_the_escaped_text(rig: Rig) -> None:
    current = await rig.identity.terms.current()
    async with browser(rig) as client:
        page = await client.get("/cgu")
    assert page.status_code == 200
    assert "<dd>1</dd>" in page.text
    assert "4 mars 2031 à 9 h 00 (heure de Paris)" in page.text
    assert current.content_hash in page.text
    assert "<h2>Conditions générales d'utilisation de SECURACT-NG</h2>" in page.text
    assert "<h3>1. Objet</h3>" in page.text
    assert outline(page.text).h1_count == 1
    # Anonymous readers see the text, not the decision forms.
    assert "/cgu/acceptation" not in page.text


def test_raw_html_in_a_cgu_text_is_shown_as_text_not_run() -> None:
    html = terms_html("# Titre\n\n<script>alert(1)</script>\n")
    assert "<h2>Titre</h2>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


async def test_a_cgu_version_changed_while_reading_sends_back_to_the_new_text(rig: Rig) -> None:
    async with browser(rig) as client:
        await activate(rig, client)
        stale = await submit(client, "/cgu", "/cgu/acceptation", {"version": "7"})
    assert stale.headers["location"] == "/cgu?info=nouvelle-version"
    assert await rig.payloads("identity.terms-accepted.v1") == []


async def test_refusing_the_cgu_needs_confirmation_then_ends_the_session(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await activate(rig, client)
        explained = await client.get("/cgu/refus")
        assert "Conséquences de votre refus" in explained.text
        assert "vous ne consentez pas" in explained.text
        unconfirmed = await client.post(
            "/cgu/refus", data={"csrf_token": csrf_of(explained.text), "version": "1"}
        )
        assert unconfirmed.status_code == 422
        assert outline(unconfirmed.text).summary_links == ["confirmation"]
        assert await rig.payloads("identity.terms-refused.v1") == []

        refused = await client.post(
            "/cgu/refus",
            data={"csrf_token": csrf_of(explained.text), "version": "1", "confirmation": "oui"},
        )
        assert refused.status_code == 200
        assert "Vous avez refusé les conditions générales" in refused.text
        assert "Vous êtes déconnecté" in refused.text
        assert 'securact_session=""' in refused.headers["set-cookie"]
        assert (await client.get("/compte")).headers["location"].startswith("/connexion")
    [event] = await rig.payloads("identity.terms-refused.v1")
    assert event["account_id"] == account_id
    assert event["leads_to_termination"] is False


async def test_the_account_page_shows_identifier_masked_email_and_accepted_version(
    rig: Rig,
) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client, "decl-martin")
        page = await client.get("/compte?info=cgu-acceptees")
    assert page.status_code == 200
    assert await rig.identifier(account_id) in page.text
    assert "d••••••n@example.org" in page.text
    assert "decl-martin@example.org" not in page.text
    assert "version 1" in page.text
    assert "Vous avez accepté les conditions générales" in page.text


async def test_changing_the_password_checks_the_current_one(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        wrong = await submit(
            client,
            "/compte",
            "/compte/mot-de-passe",
            {
                "mot_de_passe_actuel": "pas-le-bon",
                "nouveau_mot_de_passe": NEW_PASSWORD,
                "confirmation_mot_de_passe": NEW_PASSWORD,
            },
        )
        assert wrong.status_code == 403
        assert outline(wrong.text).summary_links == ["mot_de_passe_actuel"]
        assert "Le mot de passe actuel est incorrect." in wrong.text
        changed = await submit(
            client,
            "/compte",
            "/compte/mot-de-passe",
            {
                "mot_de_passe_actuel": PASSWORD,
                "nouveau_mot_de_passe": NEW_PASSWORD,
                "confirmation_mot_de_passe": NEW_PASSWORD,
            },
        )
        assert changed.headers["location"] == "/compte?info=mot-de-passe-modifie"
    assert await rig.login(account_id, NEW_PASSWORD)


async def test_totp_enrolment_shows_the_secret_then_recovery_codes_once(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        enrolment = await submit(client, "/compte", "/compte/totp", {})
        assert enrolment.status_code == 200
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrolment.text)
        assert secret is not None
        assert "otpauth://totp/" in enrolment.text
        wrong = await client.post(
            "/compte/totp/confirmation",
            data={"csrf_token": csrf_of(enrolment.text), "code": "000000"},
        )
        assert wrong.status_code == 422
        assert secret.group(1) in wrong.text

        code = totp.code_at(secret.group(1), rig.clock.now())
        codes = await client.post(
            "/compte/totp/confirmation",
            data={"csrf_token": csrf_of(enrolment.text), "code": code},
        )
        assert codes.status_code == 200
        shown = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", codes.text)
        assert len(shown) == 10
        assert "ne seront plus jamais affichés" in codes.text
        page = await client.get("/compte")
        assert "activée (10 codes de secours restants)" in page.text
        assert shown[0] not in page.text

        # The next login asks for the code, then accepts a recovery code.
        await submit(client, "/compte", "/deconnexion", {})
        identifier = await rig.identifier(account_id)
        step = await post_login(client, identifier)
        assert step.status_code == 200
        assert 'name="code"' in step.text
        assert "double authentification" in step.text
        done = await post_login(client, identifier, PASSWORD, shown[0])
        assert done.headers["location"] == "/actes"

        disabled = await submit(
            client, "/compte", "/compte/totp/desactivation", {"mot_de_passe_totp": PASSWORD}
        )
        assert disabled.headers["location"] == "/compte?info=totp-desactive"
        assert "désactivée" in (await client.get("/compte")).text


async def test_termination_needs_confirmation_and_leaves_a_read_only_account(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        unconfirmed = await submit(client, "/compte", "/compte/resiliation", {})
        assert unconfirmed.status_code == 422
        assert outline(unconfirmed.text).summary_links == ["confirmation_resiliation"]
        assert await rig.payloads("identity.account-terminated.v1") == []

        ended = await submit(
            client, "/compte", "/compte/resiliation", {"confirmation_resiliation": "oui"}
        )
        assert ended.status_code == 200
        assert "Votre compte est résilié" in ended.text
        assert "lecture seule" in ended.text
        assert len(await rig.payloads("identity.account-terminated.v1")) == 1

        rig.clock.advance(timedelta(seconds=1))
        back = await post_login(client, await rig.identifier(account_id))
        assert back.headers["location"] == "/actes"
        page = await client.get("/compte")
        assert "lecture seule" in page.text
        assert "Résilier mon compte" not in page.text
        assert "/compte/mot-de-passe" not in page.text
        csrf = csrf_of(page.text)
        forbidden = await client.post(
            "/compte/mot-de-passe",
            data={
                "csrf_token": csrf,
                "mot_de_passe_actuel": PASSWORD,
                "nouveau_mot_de_passe": NEW_PASSWORD,
                "confirmation_mot_de_passe": NEW_PASSWORD,
            },
        )
        assert forbidden.status_code == 403
        assert "lecture seule" in forbidden.text
    assert await rig.login(account_id, PASSWORD)


async def test_logout_ends_the_identity_session_and_returns_to_login(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        out = await submit(client, "/compte", "/deconnexion", {})
        assert out.status_code == 303
        assert out.headers["location"] == "/connexion?info=deconnecte"
        assert "Vous êtes déconnecté." in (await client.get(out.headers["location"])).text
        assert (await client.get("/compte")).headers["location"] == "/connexion"
    sessions = await rig.store.find(SESSIONS, {"account_id": account_id})
    assert sessions
    assert all(s["revoked_at"] for s in sessions)
    assert await rig.payloads("identity.session-revoked.v1")


async def test_an_operator_revocation_ends_the_portal_session_at_once(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        await rig.identity.accounts.revoke_all_credentials(account_id, operator="op-1")
        gone = await client.get("/compte")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/connexion?info=session-expiree"


async def test_password_reset_answers_alike_and_its_link_sets_a_new_password(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    async with browser(rig) as client:
        known = await submit(
            client, "/reinitialisation", "/reinitialisation", {"identifiant": identifier}
        )
        unknown = await submit(
            client, "/reinitialisation", "/reinitialisation", {"identifiant": "ZZZZ"}
        )
        assert known.status_code == unknown.status_code == 200
        assert "Si cet identifiant correspond à un compte activé" in known.text
        assert re.sub(r'value="[^"]*"', "", known.text) == re.sub(
            r'value="[^"]*"', "", unknown.text
        )
        [requested] = await rig.payloads("identity.password-reset-requested.v2")
        link = await rig.link_url(requested)
        assert link.startswith(f"{rig.settings.issuer}/reinitialisation?token=")
        token = token_of(link)
        page = await client.get(f"/reinitialisation?token={token}")
        assert "Choisir un nouveau mot de passe" in page.text
        done = await client.post(
            "/reinitialisation",
            data={
                "csrf_token": csrf_of(page.text),
                "token": token,
                "mot_de_passe": NEW_PASSWORD,
                "confirmation": NEW_PASSWORD,
            },
        )
        assert done.headers["location"] == "/connexion?info=mot-de-passe-reinitialise"
        again = await client.post(
            "/reinitialisation",
            data={
                "csrf_token": csrf_of(page.text),
                "token": token,
                "mot_de_passe": NEW_PASSWORD,
                "confirmation": NEW_PASSWORD,
            },
        )
        assert again.status_code == 410
    assert await rig.login(account_id, NEW_PASSWORD)
