"""The dev mailbox: a real SMTP server that keeps every message, read back over HTTP.

`make up` runs it instead of Mailpit so the local stack needs nothing but Python; the HTTP API
copies the part of Mailpit's (`/api/v1/...`) the tests and the docs use, so `docker-compose.yml`
runs the real Mailpit and the same tests and habits work against both.

Messages are kept exactly as received, one `<ID>.eml` per message plus an `<ID>.json` sidecar
for what the raw bytes do not carry (envelope, arrival instant): a restart keeps them all.

Run: `python -m devstack.mailbox [--smtp-port 1025] [--http-port 8025] [--dir var/mailbox]`
(or `securact-dev mailbox ...`); every option also reads a `SECURACT_MAILBOX_*` variable.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import html
import json
import logging
import os
import re
import secrets
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import Body, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse

from shared.clock import Clock, SystemClock

logger = logging.getLogger(__name__)
# aiosmtpd's session transcript (`MAIL FROM:<…>`, `RCPT TO:<…>` at INFO): every sender's and
# recipient's address would land in the log. Its warnings (bad commands, TLS set-up) stay.
SMTP_TRANSCRIPT_LOGGER = "mail.log"

SNIPPET_LENGTH = 250
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
_WHITESPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class StoredMessage:
    """One received message as kept on disk."""

    id: str
    seq: int
    created: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    size: int


class MailboxStore:
    """Every received message, as `.eml` files under one directory."""

    def __init__(self, directory: Path, clock: Clock) -> None:
        self._dir = directory
        self._clock = clock
        self._dir.mkdir(parents=True, exist_ok=True)
        self._messages: dict[str, StoredMessage] = {}
        for meta in self._dir.glob("*.json"):
            stored = self._load(meta)
            if stored is not None:
                self._messages[stored.id] = stored
        self._next_seq = max((m.seq for m in self._messages.values()), default=0) + 1

    def _load(self, meta_path: Path) -> StoredMessage | None:
        eml = meta_path.with_suffix(".eml")
        if not eml.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            return StoredMessage(
                id=meta_path.stem,
                seq=int(meta["seq"]),
                created=datetime.fromisoformat(meta["created"]),
                mail_from=str(meta["mail_from"]),
                rcpt_tos=tuple(str(r) for r in meta["rcpt_tos"]),
                size=eml.stat().st_size,
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("skipping unreadable mailbox entry %s", meta_path.name)
            return None

    def add(self, raw: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> StoredMessage:
        """Keep a message; the `.eml` is written before its sidecar so a crash never lists
        a message without its content."""
        message_id = secrets.token_urlsafe(16)
        stored = StoredMessage(
            id=message_id,
            seq=self._next_seq,
            created=self._clock.now(),
            mail_from=mail_from,
            rcpt_tos=tuple(rcpt_tos),
            size=len(raw),
        )
        self._next_seq += 1
        (self._dir / f"{message_id}.eml").write_bytes(raw)
        meta = {
            "seq": stored.seq,
            "created": stored.created.isoformat(),
            "mail_from": stored.mail_from,
            "rcpt_tos": list(stored.rcpt_tos),
        }
        (self._dir / f"{message_id}.json").write_text(json.dumps(meta))
        self._messages[message_id] = stored
        return stored

    def newest_first(self) -> list[StoredMessage]:
        return sorted(self._messages.values(), key=lambda m: m.seq, reverse=True)

    def get(self, message_id: str) -> StoredMessage | None:
        if message_id == "latest":
            newest = self.newest_first()
            return newest[0] if newest else None
        return self._messages.get(message_id)

    def raw(self, stored: StoredMessage) -> bytes:
        return (self._dir / f"{stored.id}.eml").read_bytes()

    def delete(self, ids: Iterable[str] | None = None) -> int:
        """Delete the given messages, or all of them; returns how many went."""
        targets = list(self._messages) if ids is None else [i for i in ids if i in self._messages]
        for message_id in targets:
            (self._dir / f"{message_id}.json").unlink(missing_ok=True)
            (self._dir / f"{message_id}.eml").unlink(missing_ok=True)
            del self._messages[message_id]
        return len(targets)


class StoringHandler:
    """aiosmtpd handler: accept every message for every recipient and keep it."""

    def __init__(self, store: MailboxStore) -> None:
        self._store = store

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        stored = self._store.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        logger.info("stored message %s (%d bytes)", stored.id, stored.size)
        return "250 Message accepted for delivery"


# --- Mailpit-shaped views -------------------------------------------------------------------


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default always builds EmailMessage
    return parsed


def _addresses(message: EmailMessage, header: str) -> list[dict[str, str]]:
    try:
        value = message[header]
    except (ValueError, IndexError):
        # A malformed header must not hide the message: show it without that field.
        return []
    if value is None:
        return []
    return [
        {"Name": address.display_name, "Address": address.addr_spec}
        for address in getattr(value, "addresses", ())
    ]


def _header_text(message: EmailMessage, header: str) -> str:
    try:
        value = message[header]
    except (ValueError, IndexError):
        return ""
    return "" if value is None else str(value)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _snippet(text: str, html_body: str) -> str:
    source = text or html.unescape(_TAG.sub(" ", html_body))
    return _WHITESPACE.sub(" ", source).strip()[:SNIPPET_LENGTH]


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bcc(stored: StoredMessage, to: list[dict[str, str]], cc: list[dict[str, str]]) -> list[Any]:
    # As Mailpit does: envelope recipients absent from To and Cc were blind copies.
    visible = {a["Address"].lower() for a in (*to, *cc)}
    return [{"Name": "", "Address": r} for r in stored.rcpt_tos if r.lower() not in visible]


def _attachments(message: EmailMessage) -> list[dict[str, Any]]:
    found = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        payload = part.get_payload(decode=True)
        found.append(
            {
                "PartID": str(index),
                "FileName": part.get_filename() or "",
                "ContentType": part.get_content_type(),
                "Size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    return found


@dataclass(frozen=True)
class MessageView:
    """A stored message parsed once: both Mailpit shapes are built from it."""

    stored: StoredMessage
    message: EmailMessage
    text: str
    html: str

    @classmethod
    def of(cls, store: MailboxStore, stored: StoredMessage) -> MessageView:
        message = _parse(store.raw(stored))
        return cls(stored, message, _body(message, "plain"), _body(message, "html"))

    def common(self) -> dict[str, Any]:
        senders = _addresses(self.message, "From")
        sender = senders[0] if senders else {"Name": "", "Address": self.stored.mail_from}
        to = _addresses(self.message, "To")
        cc = _addresses(self.message, "Cc")
        return {
            "ID": self.stored.id,
            "MessageID": _header_text(self.message, "Message-ID").strip("<>"),
            "From": sender,
            "To": to,
            "Cc": cc,
            "Bcc": _bcc(self.stored, to, cc),
            "ReplyTo": _addresses(self.message, "Reply-To"),
            "Subject": _header_text(self.message, "Subject"),
            "Tags": [],
            "Size": self.stored.size,
        }

    def summary(self) -> dict[str, Any]:
        """An item of `GET /api/v1/messages`."""
        return {
            **self.common(),
            "Read": False,
            "Created": _rfc3339(self.stored.created),
            "Attachments": len(_attachments(self.message)),
            "Snippet": _snippet(self.text, self.html),
        }

    def detail(self) -> dict[str, Any]:
        """`GET /api/v1/message/{ID}`."""
        date = self.message["Date"]
        sent = getattr(date, "datetime", None) if date is not None else None
        return {
            **self.common(),
            "ReturnPath": self.stored.mail_from,
            "Date": _rfc3339(sent) if isinstance(sent, datetime) and sent.tzinfo else "",
            "Text": self.text,
            "HTML": self.html,
            "Inline": [],
            "Attachments": _attachments(self.message),
        }

    def headers(self) -> dict[str, list[str]]:
        """`GET /api/v1/message/{ID}/headers`: every header, decoded, in order."""
        found: dict[str, list[str]] = {}
        for name, value in self.message.items():
            found.setdefault(name, []).append(str(value))
        return found


def _matches(view: MessageView, query: str) -> bool:
    """Mailpit's search syntax, the useful part: `to:`, `from:`, `subject:`, bare words, quotes
    and `-` for negation; every term must hold."""
    try:
        terms = shlex.split(query)
    except ValueError:
        terms = query.split()
    common = view.common()
    people = {
        "to": [*common["To"], *common["Cc"], *common["Bcc"]],
        "from": [common["From"]],
    }
    for term in terms:
        negate = term.startswith(("-", "!"))
        text = term[1:] if negate else term
        field, _, value = text.partition(":") if ":" in text else ("", "", text)
        value = value.lower()
        if field in people:
            hit = any(value in f"{p['Name']} <{p['Address']}>".lower() for p in people[field])
        elif field == "subject":
            hit = value in common["Subject"].lower()
        else:
            haystack = " ".join(
                [common["Subject"], view.text, view.html, str(people["to"]), str(people["from"])]
            )
            hit = text.lower() in haystack.lower()
        if hit == negate:
            return False
    return True


def _listing(views: list[MessageView], start: int, limit: int, total: int) -> dict[str, Any]:
    page = views[start : start + limit]
    return {
        "total": total,
        "unread": total,
        "count": len(page),
        "messages_count": len(views),
        "start": start,
        "tags": [],
        "messages": [v.summary() for v in page],
    }


def _ui_page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .8em}</style>"
        f"</head><body>{body}</body></html>"
    )


def create_app(store: MailboxStore) -> FastAPI:
    """The HTTP side: Mailpit's API shape plus a two-page UI."""
    app = FastAPI(title="SECURACT-NG dev mailbox", docs_url=None, redoc_url=None)

    def view(message_id: str) -> MessageView:
        stored = store.get(message_id)
        if stored is None:
            raise HTTPException(status_code=404, detail="message not found")
        return MessageView.of(store, stored)

    @app.get("/livez")
    @app.get("/readyz")
    def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/api/v1/messages")
    def messages(start: int = Query(0, ge=0), limit: int = Query(50, ge=1)) -> dict[str, Any]:
        views = [MessageView.of(store, s) for s in store.newest_first()]
        return _listing(views, start, limit, len(views))

    @app.delete("/api/v1/messages")
    def delete_messages(
        body: dict[str, list[str]] | None = Body(None),  # noqa: B008 (FastAPI's idiom)
    ) -> PlainTextResponse:
        ids = (body or {}).get("IDs") or None
        store.delete(ids)
        return PlainTextResponse("ok")

    @app.get("/api/v1/search")
    def search(
        query: str = Query(...), start: int = Query(0, ge=0), limit: int = Query(50, ge=1)
    ) -> dict[str, Any]:
        everything = [MessageView.of(store, s) for s in store.newest_first()]
        found = [v for v in everything if _matches(v, query)]
        return _listing(found, start, limit, len(everything))

    @app.get("/api/v1/message/{message_id}")
    def message(message_id: str) -> dict[str, Any]:
        return view(message_id).detail()

    @app.get("/api/v1/message/{message_id}/headers")
    def headers(message_id: str) -> dict[str, list[str]]:
        return view(message_id).headers()

    @app.get("/api/v1/message/{message_id}/raw")
    def raw(message_id: str) -> PlainTextResponse:
        stored = store.get(message_id)
        if stored is None:
            raise HTTPException(status_code=404, detail="message not found")
        return PlainTextResponse(store.raw(stored).decode("utf-8", "replace"))

    @app.get("/", response_class=HTMLResponse)
    def inbox() -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{html.escape(s['Created'])}</td>"
            f"<td>{html.escape(s['From']['Address'])}</td>"
            f"<td>{html.escape(', '.join(t['Address'] for t in s['To']))}</td>"
            f"<td><a href='/view/{s['ID']}'>{html.escape(s['Subject'] or '(sans objet)')}</a></td>"
            "</tr>"
            for s in (MessageView.of(store, m).summary() for m in store.newest_first())
        )
        return _ui_page(
            "Boîte de développement",
            "<h1>Boîte de développement</h1>"
            "<p>API : <a href='/api/v1/messages'>/api/v1/messages</a></p>"
            f"<table><tr><th>Reçu</th><th>De</th><th>À</th><th>Objet</th></tr>{rows}</table>",
        )

    @app.get("/view/{message_id}", response_class=HTMLResponse)
    def show(message_id: str) -> HTMLResponse:
        detail = view(message_id).detail()
        frame = "<iframe sandbox style='width:100%;height:30em' srcdoc=\"{}\"></iframe>"
        html_part = frame.format(html.escape(detail["HTML"])) if detail["HTML"] else ""
        return _ui_page(
            detail["Subject"],
            f"<p><a href='/'>&larr; boîte</a> · <a href='/api/v1/message/{message_id}/raw'>brut</a>"
            f"</p><h1>{html.escape(detail['Subject'])}</h1>"
            f"<p>De : {html.escape(detail['From']['Address'])}</p>"
            f"<pre>{html.escape(detail['Text'])}</pre>{html_part}",
        )

    return app


# --- process --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxConfig:
    directory: Path
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    http_host: str = "127.0.0.1"
    http_port: int = 8025


async def serve(config: MailboxConfig, clock: Clock) -> None:
    """Run SMTP and HTTP on one event loop until uvicorn is told to stop (SIGINT/SIGTERM)."""
    logging.getLogger(SMTP_TRANSCRIPT_LOGGER).setLevel(logging.WARNING)
    store = MailboxStore(config.directory, clock)
    handler = StoringHandler(store)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="securact-dev-mailbox",
            enable_SMTPUTF8=True,
            decode_data=False,
            data_size_limit=MAX_MESSAGE_BYTES,
        ),
        host=config.smtp_host,
        port=config.smtp_port,
    )
    http = uvicorn.Server(
        uvicorn.Config(
            create_app(store),
            host=config.http_host,
            port=config.http_port,
            log_level="warning",
            lifespan="off",
        )
    )
    logger.info(
        "dev mailbox: SMTP %s:%d, HTTP http://%s:%d, keeping mail in %s",
        config.smtp_host,
        config.smtp_port,
        config.http_host,
        config.http_port,
        config.directory,
    )
    try:
        await http.serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Options of the mailbox, shared by `python -m devstack.mailbox` and `securact-dev mailbox`."""
    parser = parser or argparse.ArgumentParser(prog="python -m devstack.mailbox")
    env = os.environ.get
    parser.add_argument(
        "--dir", type=Path, default=Path(env("SECURACT_MAILBOX_DIR", "var/mailbox"))
    )
    parser.add_argument("--smtp-host", default=env("SECURACT_MAILBOX_SMTP_HOST", "127.0.0.1"))
    parser.add_argument(
        "--smtp-port", type=int, default=_env_int("SECURACT_MAILBOX_SMTP_PORT", 1025)
    )
    parser.add_argument("--http-host", default=env("SECURACT_MAILBOX_HTTP_HOST", "127.0.0.1"))
    parser.add_argument(
        "--http-port", type=int, default=_env_int("SECURACT_MAILBOX_HTTP_PORT", 8025)
    )
    return parser


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = MailboxConfig(
        directory=Path(args.dir).resolve(),
        smtp_host=args.smtp_host,
        smtp_port=args.smtp_port,
        http_host=args.http_host,
        http_port=args.http_port,
    )
    asyncio.run(serve(config, SystemClock()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
