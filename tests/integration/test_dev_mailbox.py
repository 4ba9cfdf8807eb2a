"""The dev mailbox as `make up` runs it: a real process, real SMTP in, Mailpit-shaped HTTP out."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.support.stack import Mailbox

FRENCH_SUBJECT = "Acte signifié : décision n° 42 — délai d'appel"


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        yield box
    finally:
        box.stop()


def _send(box: Mailbox, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", box.smtp_port, timeout=10) as client:
        client.send_message(message)


def _french_multipart() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "SECURACT <ne-pas-repondre@securact.test>"
    message["To"] = "Élodie Martin <elodie.martin@example.test>"
    message["Subject"] = FRENCH_SUBJECT
    message["Message-ID"] = "<acte-42@securact.test>"
    message.set_content("Bonjour Élodie,\nun acte vous a été signifié.\n")
    message.add_alternative("<p>Bonjour Élodie,<br>un acte vous a été <b>signifié</b>.</p>", "html")
    return message


def _plain(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "notify@securact.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Texte simple.")
    return message


def test_multipart_french_message_reads_back_through_the_mailpit_api(mailbox: Mailbox) -> None:
    _send(mailbox, _french_multipart())

    listing = httpx.get(f"{mailbox.api}/messages").json()
    assert listing["total"] == 1
    assert listing["count"] == 1
    summary = listing["messages"][0]
    assert summary["Subject"] == FRENCH_SUBJECT
    assert summary["From"] == {"Name": "SECURACT", "Address": "ne-pas-repondre@securact.test"}
    assert summary["To"] == [{"Name": "Élodie Martin", "Address": "elodie.martin@example.test"}]
    assert summary["MessageID"] == "acte-42@securact.test"
    assert summary["Snippet"].startswith("Bonjour Élodie, un acte vous a été signifié.")
    assert summary["Size"] > 0
    assert summary["Created"].endswith("Z")

    detail = httpx.get(f"{mailbox.api}/message/{summary['ID']}").json()
    assert detail["Subject"] == FRENCH_SUBJECT
    assert "un acte vous a été signifié." in detail["Text"]
    assert "<b>signifié</b>" in detail["HTML"]
    assert detail["Cc"] == []

    raw = httpx.get(f"{mailbox.api}/message/{summary['ID']}/raw")
    assert raw.status_code == 200
    assert "multipart/alternative" in raw.text
    assert "Message-ID: <acte-42@securact.test>" in raw.text


def test_messages_list_newest_first_and_search_filters_by_recipient(mailbox: Mailbox) -> None:
    _send(mailbox, _plain("alice@example.test", "premier"))
    _send(mailbox, _plain("bob@example.test", "second"))

    subjects = [m["Subject"] for m in httpx.get(f"{mailbox.api}/messages").json()["messages"]]
    assert subjects == ["second", "premier"]

    found = httpx.get(f"{mailbox.api}/search", params={"query": "to:alice@example.test"}).json()
    assert [m["Subject"] for m in found["messages"]] == ["premier"]
    assert found["total"] == 2
    assert found["messages_count"] == 1


def test_blind_copy_recipients_show_as_bcc(mailbox: Mailbox) -> None:
    with smtplib.SMTP("127.0.0.1", mailbox.smtp_port, timeout=10) as client:
        client.send_message(
            _plain("alice@example.test", "copie"),
            to_addrs=["alice@example.test", "huissier@example.test"],
        )

    summary = httpx.get(f"{mailbox.api}/messages").json()["messages"][0]
    assert summary["Bcc"] == [{"Name": "", "Address": "huissier@example.test"}]


def test_messages_survive_a_restart_and_delete_empties_the_box(mailbox: Mailbox) -> None:
    _send(mailbox, _french_multipart())
    mailbox.stop()
    mailbox.start()

    listing = httpx.get(f"{mailbox.api}/messages").json()
    assert [m["Subject"] for m in listing["messages"]] == [FRENCH_SUBJECT]

    assert httpx.delete(f"{mailbox.api}/messages").status_code == 200
    assert httpx.get(f"{mailbox.api}/messages").json()["total"] == 0
    assert list(mailbox.directory.iterdir()) == []


def test_unknown_message_answers_404(mailbox: Mailbox) -> None:
    assert httpx.get(f"{mailbox.api}/message/nope").status_code == 404


def test_receiving_a_mail_logs_no_address(mailbox: Mailbox) -> None:
    message = _plain("Élodie <elodie.martin@example.test>", "Acte")
    message["Bcc"] = "huissier@example.test"
    _send(mailbox, message)
    assert httpx.get(f"{mailbox.api}/messages").json()["total"] == 1
    mailbox.stop()

    assert "stored message" in mailbox.log  # the process did log at INFO
    for address in ("elodie.martin", "huissier@", "notify@securact.test"):
        assert address not in mailbox.log
