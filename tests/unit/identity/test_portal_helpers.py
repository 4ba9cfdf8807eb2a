"""Helpers of the portal's unit tests (no test here): the portal router on the unit rig's
identity (in-memory store, manual clock) behind an in-process HTTP client, and an HTML reader
for the accessibility checks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
from fastapi import FastAPI

from identity.portal import portal_router
from shared.portal import stylesheet_router
from tests.unit.identity.support import PASSWORD, Rig

BASE_URL = "http://portail.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def portal_app(rig: Rig) -> FastAPI:
    app = FastAPI()
    app.include_router(portal_router(rig.identity))
    app.include_router(stylesheet_router())
    return app


@asynccontextmanager
async def browser(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies like a browser and does not follow redirects."""
    transport = httpx.ASGITransport(app=portal_app(rig), client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def submit(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """GET `page`, then POST `data` to `action` with the page's CSRF token, as a browser."""
    shown = await client.get(page)
    assert shown.status_code < 400, shown.text
    return await client.post(action, data={"csrf_token": csrf_of(shown.text), **data})


async def activate(rig: Rig, client: httpx.AsyncClient, declaration_id: str = "decl-1") -> str:
    """Declared → activation page → password: the browser is signed in; the account id."""
    account_id = await rig.declare(declaration_id, f"{declaration_id}@example.org")
    token = await rig.activation_token(account_id)
    done = await submit(
        client,
        f"/activation?token={token}",
        "/activation",
        {"token": token, "mot_de_passe": PASSWORD, "confirmation": PASSWORD},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/cgu?info=compte-active"
    return account_id


async def signed_in_recipient(
    rig: Rig, client: httpx.AsyncClient, declaration_id: str = "decl-1"
) -> str:
    """A recipient who activated and accepted the CGU in this browser; the account id."""
    account_id = await activate(rig, client, declaration_id)
    accepted = await submit(client, "/cgu", "/cgu/acceptation", {"version": "1"})
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
    return account_id


@dataclass
class PageOutline:
    """What the accessibility checks look at in a page."""

    lang: str | None = None
    h1_count: int = 0
    title: str = ""
    skip_link_targets: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    label_targets: set[str] = field(default_factory=set)
    fields: list[dict[str, str | None]] = field(default_factory=list)
    summary_links: list[str] = field(default_factory=list)
    landmarks: set[str] = field(default_factory=set)
    scripts: int = 0
    inline_styles: int = 0


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.outline = PageOutline()
        self._in_title = False
        self._in_summary = 0
        self._first_link = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        o = self.outline
        if a.get("id"):
            o.ids.add(str(a["id"]))
        if a.get("style") is not None:
            o.inline_styles += 1
        if tag == "html":
            o.lang = a.get("lang")
        elif tag == "h1":
            o.h1_count += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "script":
            o.scripts += 1
        elif tag in ("header", "main", "footer", "nav"):
            o.landmarks.add(tag)
        elif tag == "label" and a.get("for"):
            o.label_targets.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            o.fields.append(a)
        elif tag == "a":
            href = a.get("href") or ""
            if self._first_link:
                self._first_link = False
                if href.startswith("#"):
                    o.skip_link_targets.append(href[1:])
            if self._in_summary and href.startswith("#"):
                o.summary_links.append(href[1:])
        if tag == "div" and "resume-erreurs" in (a.get("class") or ""):
            self._in_summary = 1
        elif self._in_summary and tag == "div":
            self._in_summary += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "div" and self._in_summary:
            self._in_summary -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.outline.title += data


def outline(html: str) -> PageOutline:
    reader = _Reader()
    reader.feed(html)
    return reader.outline


def accessibility_problems(html: str) -> list[str]:
    """RGAA basics a page must meet; an empty list when it does."""
    o = outline(html)
    problems = []
    if o.lang != "fr":
        problems.append(f"lang is {o.lang!r}")
    if o.h1_count != 1:
        problems.append(f"{o.h1_count} h1")
    if not o.title.strip():
        problems.append("no title")
    if not o.skip_link_targets or o.skip_link_targets[0] not in o.ids:
        problems.append("no skip link to an existing target as first link")
    if not {"header", "main", "footer"} <= o.landmarks:
        problems.append(f"landmarks: {sorted(o.landmarks)}")
    if o.scripts or o.inline_styles:
        problems.append("script or inline style")
    for attrs in o.fields:
        if attrs.get("id") not in o.label_targets:
            problems.append(f"field {attrs.get('name')!r} has no label")
        for described in (attrs.get("aria-describedby") or "").split():
            if described not in o.ids:
                problems.append(f"aria-describedby {described!r} names no element")
    for target in o.summary_links:
        if target not in o.ids:
            problems.append(f"error summary links to missing #{target}")
    return problems
