"""The notice to the person a holder designated in their post-mortem directives: sent to that
person's address (the event's, never kept in the book); the deceased's own address gets no
termination message."""

from __future__ import annotations

from email.message import EmailMessage

from shared.contracts import consent, identity
from tests.unit.notify.conftest import Env, EnvFactory
from tests.unit.notify.events import wrap

HOLDER = "titulaire@example.fr"
HEIR = "camille@example.org"


def _body(message: EmailMessage) -> str:
    return "\n".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )


async def _known_holder(env: Env) -> None:
    registered = consent.DeclarationRegisteredV1(
        declaration_id="decl-1", person_kind=consent.PersonKind.NATURAL, email=HOLDER
    )
    created = identity.AccountCreatedV1(
        account_id="acc-1", role=identity.AccountRole.RECIPIENT, declaration_id="decl-1"
    )
    await env.take(wrap(registered, env.clock, "declaration:decl-1"))
    await env.take(wrap(created, env.clock, "account:acc-1"))


async def test_the_designated_person_is_written_to_and_the_deceased_is_not(
    make_env: EnvFactory,
) -> None:
    env = make_env()
    await _known_holder(env)
    terminated = identity.AccountTerminatedV1(
        account_id="acc-1",
        declaration_id="decl-1",
        terminated_at=env.clock.now(),
        reason=identity.TerminationReason.DECEASED,
    )
    notice = identity.PostMortemNoticeRequestedV1(
        account_id="acc-1",
        notice_id="notice-1",
        name="Camille Martin",
        email=HEIR,
        erasure=identity.PostMortemErasure.AT_ONCE,
        recorded_at=env.clock.now(),
    )
    await env.take(wrap(terminated, env.clock, "account:acc-1"))
    await env.take(wrap(notice, env.clock, "account:acc-1"))
    await env.drain()

    [message] = env.mail.sent
    assert isinstance(message, EmailMessage)
    assert message["To"] == HEIR
    text = _body(message)
    assert "Bonjour Camille Martin" in text
    assert "effacées sans attendre" in text
    assert "notice-1" in text
    [row] = await env.rows()
    assert row["kind"] == "post_mortem_notice"
    assert row["account_id"] == "acc-1"


async def test_a_scheduled_erasure_says_the_usual_delays(make_env: EnvFactory) -> None:
    env = make_env()
    notice = identity.PostMortemNoticeRequestedV1(
        account_id="acc-1",
        notice_id="notice-2",
        name="Camille Martin",
        email=HEIR,
        erasure=identity.PostMortemErasure.SCHEDULED,
        recorded_at=env.clock.now(),
    )
    await env.take(wrap(notice, env.clock, "account:acc-1"))
    await env.drain()
    [message] = env.mail.sent
    assert isinstance(message, EmailMessage)
    assert "délais habituels" in _body(message)
