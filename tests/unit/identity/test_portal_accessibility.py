"""RGAA basics checked in the HTML of every portal page, including pages showing errors:
`lang="fr"`, one `h1`, a skip link first, landmarks, a label for every field, hints and errors
tied to their field, error summary links leading to fields; and the stylesheet's contrasts."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

import shared.portal
from tests.unit.identity.support import IP, PASSWORD, Rig, token_of
from tests.unit.identity.test_portal_helpers import (
    accessibility_problems,
    activate,
    browser,
    csrf_of,
    outline,
    signed_in_recipient,
    submit,
)

Visit = Callable[[Rig, httpx.AsyncClient], Awaitable[httpx.Response]]


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path)


async def login_page(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await _get(client, "/connexion?info=deconnecte")


async def login_errors(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await submit(client, "/connexion", "/connexion", {"identifiant": "", "code": "1"})


async def login_refused(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await submit(
        client, "/connexion", "/connexion", {"identifiant": "AAAA", "mot_de_passe": "x"}
    )


async def activation_page(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    token = await rig.activation_token(await rig.declare())
    return await _get(client, f"/activation?token={token}")


async def activation_errors(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    token = await rig.activation_token(await rig.declare())
    return await submit(
        client,
        f"/activation?token={token}",
        "/activation",
        {"token": token, "mot_de_passe": "court", "confirmation": "autre"},
    )


async def activation_link_gone(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    # Checked as soon as the link is opened: the page says so before any password is typed.
    return await _get(client, "/activation?token=inconnu")


async def reset_request(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await _get(client, "/reinitialisation")


async def reset_request_errors(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await submit(client, "/reinitialisation", "/reinitialisation", {"identifiant": ""})


async def reset_form(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads("identity.password-reset-requested.v2")
    return await _get(client, f"/reinitialisation?token={token_of(await rig.link_url(reset))}")


async def cgu_anonymous(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await _get(client, "/cgu")


async def cgu_to_answer(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await activate(rig, client)
    return await _get(client, "/cgu?info=compte-active")


async def cgu_refusal_errors(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await activate(rig, client)
    return await submit(client, "/cgu/refus", "/cgu/refus", {"version": "1"})


async def account(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await signed_in_recipient(rig, client)
    return await _get(client, "/compte?info=cgu-acceptees")


async def account_errors(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await signed_in_recipient(rig, client)
    return await submit(
        client,
        "/compte",
        "/compte/mot-de-passe",
        {"mot_de_passe_actuel": "", "nouveau_mot_de_passe": "a", "confirmation_mot_de_passe": "b"},
    )


async def totp_enrolment_errors(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await signed_in_recipient(rig, client)
    page = await submit(client, "/compte", "/compte/totp", {})
    return await client.post(
        "/compte/totp/confirmation", data={"csrf_token": csrf_of(page.text), "code": ""}
    )


async def csrf_refusal(_rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/connexion", data={})


async def terminated(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    await signed_in_recipient(rig, client)
    return await submit(
        client, "/compte", "/compte/resiliation", {"confirmation_resiliation": "oui"}
    )


async def cgu_refused_at_login(rig: Rig, client: httpx.AsyncClient) -> httpx.Response:
    account_id = await activate(rig, client)
    await submit(client, "/cgu/refus", "/cgu/refus", {"version": "1", "confirmation": "oui"})
    return await submit(
        client,
        "/connexion",
        "/connexion",
        {"identifiant": await rig.identifier(account_id), "mot_de_passe": PASSWORD},
    )


PAGES: list[Visit] = [
    login_page,
    login_errors,
    login_refused,
    activation_page,
    activation_errors,
    activation_link_gone,
    reset_request,
    reset_request_errors,
    reset_form,
    cgu_anonymous,
    cgu_to_answer,
    cgu_refusal_errors,
    cgu_refused_at_login,
    account,
    account_errors,
    totp_enrolment_errors,
    csrf_refusal,
    terminated,
]


@pytest.mark.parametrize("visit", PAGES, ids=[visit.__name__ for visit in PAGES])
async def test_the_page_meets_the_rgaa_basics(rig: Rig, visit: Visit) -> None:
    async with browser(rig) as client:
        page = await visit(rig, client)
    assert page.headers["content-type"].startswith("text/html")
    assert accessibility_problems(page.text) == []


async def test_an_error_page_titles_itself_and_its_summary_leads_to_each_field(rig: Rig) -> None:
    async with browser(rig) as client:
        page = await account_errors(rig, client)
    shape = outline(page.text)
    assert shape.title.startswith("Erreur : Mon compte")
    assert shape.summary_links == ["mot_de_passe_actuel", "confirmation_mot_de_passe"]
    assert "Le formulaire contient 2 erreurs" in page.text
    assert 'role="alert"' in page.text
    assert re.search(
        r'id="mot_de_passe_actuel"[^>]*aria-describedby="mot_de_passe_actuel-erreur"'
        r'[^>]*aria-invalid="true"',
        page.text,
    )


async def test_fields_come_in_reading_order_with_their_autocomplete_purpose(rig: Rig) -> None:
    async with browser(rig) as client:
        page = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": "A", "mot_de_passe": "", "code": "1"},
        )
    fields = [(f.get("name"), f.get("autocomplete")) for f in outline(page.text).fields]
    assert fields == [
        ("identifiant", "username"),
        ("mot_de_passe", "current-password"),
        ("code", "one-time-code"),
    ]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_text_colour_of_the_stylesheet_has_aa_contrast() -> None:
    css = (Path(shared.portal.__file__).parent / "static" / "portail.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    colour = re.compile(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})")
    background = re.compile(r"background:\s*(#[0-9a-fA-F]{6})")
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", css)
    # White text sits on its own rule's background; every other text colour may sit on any
    # light background of the page.
    white_on = [background.findall(body) for _, body in rules if "#ffffff" in colour.findall(body)]
    light = {
        found
        for _, body in rules
        if "#ffffff" not in colour.findall(body)
        for found in background.findall(body)
    }
    texts = {c for _, body in rules for c in colour.findall(body)} - {"#ffffff"}
    assert texts
    assert light
    assert any(white_on)
    for text in texts:
        for back in light:
            assert contrast(text, back) >= 4.5, (text, back)
    for backs in white_on:
        for back in backs:
            assert contrast("#ffffff", back) >= 4.5, back
