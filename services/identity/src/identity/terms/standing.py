"""How the CGU stand for a version (accounts notified, deemed received, bound) and for an
account (the version accepted, the one binding it, its notices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from identity import errors
from identity.notices import NoticeCounts, binding_terms_version, notice_counts
from identity.records import ACCOUNTS, TERMS, TERMS_NOTICES, instant
from identity.sessions import current_terms_version
from identity.terms.versions import TermsReads, terms_id


@dataclass(frozen=True)
class AccountNotice:
    version: int
    status: str
    presented_at: datetime | None
    deemed_received_on: date | None
    binds_from: datetime | None


@dataclass(frozen=True)
class AccountTerms:
    accepted_version: int | None
    binding_version: int | None
    notices: list[AccountNotice]


class Standing(TermsReads):
    """How the CGU stand: for a version (operators), for an account (its holder)."""

    async def notice_counts(self, version: int) -> NoticeCounts:
        """The operator's view of a version: accounts notified, deemed received, bound."""
        document = await self._ctx.store.get(TERMS, terms_id(version))
        if document is None:
            raise errors.not_found("terms")
        return await notice_counts(self._ctx, document)

    async def for_account(self, account_id: str) -> AccountTerms:
        """The CGU as they stand for one account: the version accepted, the one binding it,
        and its notice of each later version (deemed receipt, binding date)."""
        store = self._ctx.store
        account = await store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        now = self._ctx.clock.now()
        current = await current_terms_version(store, now)
        binding = await binding_terms_version(store, account, current, now)
        notices = await store.find(TERMS_NOTICES, {"account_id": account_id}, sort=[("version", 1)])
        return AccountTerms(
            accepted_version=account.get("accepted_terms_version"),
            binding_version=binding,
            notices=[
                AccountNotice(
                    version=int(n["version"]),
                    status=str(n["status"]),
                    presented_at=instant(n.get("presented_at")),
                    deemed_received_on=(
                        date.fromisoformat(n["deemed_received_on"])
                        if n.get("deemed_received_on")
                        else None
                    ),
                    binds_from=instant(n.get("bound_at")),
                )
                for n in notices
            ],
        )
