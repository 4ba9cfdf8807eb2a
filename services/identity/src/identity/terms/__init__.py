"""CGU versions, their acceptance as consent and their refusal: one module per use case
(versions, publication, notice fan-out, standing, answers) on one `Context`.

Versions are numbered from 1, carry their markdown text, its SHA-256 and an effective date. The
current version is the latest whose effective date has come; a later version binds each account
only from 24:00 of the day one month after its own notice was deemed received (`notices`). A
recipient that never accepted a version gets sessions that may only answer the CGU; one that
has a version to answer keeps its acts (see `sessions.scopes_for`) and may answer it. A refusal
is final, as consent treats it (the declaration stays refused): refusing before any acceptance
leaves the account without access (no login opens a session, accepting afterwards is 409
`terms-refused`); refusing a new version terminates the account.

Publishing warns every active recipient (one `terms-notice-issued` event each, which notify
e-mails). With many accounts one transaction per publication would be huge, so the publication
stores a durable fan-out job instead, in the same transaction as the version; a background job
writes the notices `terms_notice_batch_size` accounts per transaction, each batch committing its
notices together with the job's cursor (the last account id done). A crash loses at most an
uncommitted batch, which the next run redoes; the cursor only moves forward over account ids, so
each account gets exactly one notice (its notice record, keyed by account and version). The
recipients are those active at the publication (and still active when their batch runs);
accounts activated after the publication get theirs at activation (`Accounts.activate`).

The texts shipped with the service (`SHIPPED_TEXTS`) go through the same process: the first is
in force at the first start, each later one is published at start with the earliest effective
date a notice allows.
"""

from __future__ import annotations

from identity.terms.answers import Answers, TermsDecision
from identity.terms.fanout import NoticeFanOut
from identity.terms.publication import Publication
from identity.terms.standing import AccountNotice, AccountTerms, Standing
from identity.terms.versions import (
    SHIPPED_TEXTS,
    TermsVersion,
    earliest_effective_at,
    first_version_text,
    terms_id,
)

__all__ = [
    "SHIPPED_TEXTS",
    "AccountNotice",
    "AccountTerms",
    "Terms",
    "TermsDecision",
    "TermsVersion",
    "earliest_effective_at",
    "first_version_text",
    "terms_id",
]


class Terms(Publication, NoticeFanOut, Standing, Answers):
    """Every CGU use case, on one `Context`."""
