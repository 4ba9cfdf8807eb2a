"""From template values to what is handed over: the content of a message on a channel, a link
message rendered with the link identity gives at send time, and the e-mail itself."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime
from email import quoprimime
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime
from typing import Self

from notify.notifications import Content, EmailContent, Notification, PendingLink, SmsContent
from notify.ports import LinkSource, PermanentDeliveryError, TransientDeliveryError
from notify.templates import TemplateInputError, Templates
from notify.values import MessageValues
from shared.contracts.notify import Channel

MAX_HEADER_LINE = 78

__all__ = ["TemplateInputError", "content_with_link", "email_message", "render"]


def render(templates: Templates, values: MessageValues, channel: Channel) -> Content | None:
    """The message of `values` on `channel`; None when the kind has no message there. Raises
    `TemplateInputError` when the values cannot go into a message."""
    context = values.template_values()
    if channel is Channel.SMS:
        text = templates.sms(values.kind, context)
        return None if text is None else SmsContent(sms=text)
    rendered = templates.email(values.kind, context)
    return EmailContent(subject=rendered.subject, text=rendered.text, html=rendered.html)


async def content_with_link(
    templates: Templates, links: LinkSource | None, job: Notification, link: PendingLink
) -> Content:
    """The message of a link notification, rendered with the link identity gives now (it lives
    in this attempt's memory only)."""
    if links is None:
        raise TransientDeliveryError("no link source configured")
    url = await links.link_url(link.link_id)
    values = link.context.restored(job.kind).with_link(url)
    try:
        content = render(templates, values, job.channel)
    except TemplateInputError as error:
        raise PermanentDeliveryError(f"message not renderable: {error}") from None
    if content is None:
        raise PermanentDeliveryError("the kind has no message on this channel")
    return content


def email_message(
    job: Notification, content: EmailContent, *, mail_from: str, now: datetime
) -> EmailMessage:
    assert job.address is not None
    message = EmailMessage()
    _header(message, "From", mail_from)
    _header(message, "To", job.address)
    _header(message, "Subject", content.subject)
    _header(message, "Date", format_datetime(now))
    _header(message, "Message-ID", f"<{job.message_id}>")
    # Transactional profile: an automatic message (RFC 3834), no list headers.
    _header(message, "Auto-Submitted", "auto-generated")
    _header(message, "X-Auto-Response-Suppress", "All")
    # multipart/alternative of the text and the HTML, built part by part in wire form (what
    # `set_content` and `add_alternative` write, without their header parsing).
    message.set_raw("MIME-Version", "1.0")
    boundary = f"{'=' * 15}{secrets.randbelow(10**19):019d}=="
    alternative = f'multipart/alternative;\n boundary="{boundary}"'
    message.set_raw("Content-Type", _MimeHeader("Content-Type", alternative))
    _header(message, "Content-Language", "fr")
    message.set_payload([_text_part(content.text, "plain"), _text_part(content.html, "html")])
    return message


class _MimeHeader(str):
    """A MIME header we wrote in wire form (ASCII, folded): the generator reads Content-Type
    several times per part and would parse a plain value each time; this one is used as is."""

    name: str

    def __new__(cls, name: str, value: str) -> Self:
        header = super().__new__(cls, value)
        header.name = name
        return header

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return self.name, str(self)  # copies (the generator deep-copies a part it re-encodes)

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {policy.linesep.join(self.splitlines())}{policy.linesep}"


def _text_part(text: str, subtype: str) -> EmailMessage:
    part = EmailMessage()
    encoding, payload = _encoded_text(text)
    part.set_raw("Content-Type", _MimeHeader("Content-Type", f'text/{subtype}; charset="utf-8"'))
    part.set_raw("Content-Transfer-Encoding", _MimeHeader("Content-Transfer-Encoding", encoding))
    part.set_payload(payload)
    return part


def _encoded_text(text: str) -> tuple[str, str]:
    """The transfer encoding and payload `set_content` chooses for UTF-8 text (the standard
    library's heuristic): 7bit or 8bit when every line is short, else the shorter of
    quoted-printable and base64 (judged on the first ten lines)."""
    lines = text.encode("utf-8").splitlines()
    normal = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= MAX_HEADER_LINE:
        if normal.isascii():
            return "7bit", normal.decode("ascii")
        return "8bit", normal.decode("ascii", "surrogateescape")
    sniff = b"".join(line + b"\n" for line in lines[:10])
    if len(quoprimime.body_encode(sniff.decode("latin-1"), MAX_HEADER_LINE)) > len(
        binascii.b2a_base64(sniff)
    ):
        return "base64", base64.encodebytes(normal).decode("ascii")
    return "quoted-printable", quoprimime.body_encode(normal.decode("latin-1"), MAX_HEADER_LINE)


def _header(message: EmailMessage, name: str, value: str) -> None:
    """Set a header in its wire form: the structured parse `message[name] = value` does is the
    larger part of building a message, and is only needed for what is not plain short ASCII
    (it still happens, lazily, when someone reads the header)."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")
    if value.isascii() and len(name) + len(value) + 2 <= MAX_HEADER_LINE:
        message.set_raw(name, value)
    elif name == "Subject":
        # RFC 2047 encoded words, folded: what the structured header would write.
        message.set_raw(name, Header(value, "utf-8", header_name=name).encode())
    else:
        message[name] = value
