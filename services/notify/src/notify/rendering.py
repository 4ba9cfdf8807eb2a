"""From template values to what is handed over: the content of a message on a channel, a link
message rendered with the link identity gives at send time, and the e-mail itself."""

from __future__ import annotations

from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime

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
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    # After the body: set_content() drops every Content-* header set before it.
    _header(message, "Content-Language", "fr")
    return message


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
