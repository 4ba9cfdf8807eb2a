"""Events of the retention service.

The retention service is built in a later issue; notify (issue 7) already consumes the erasure
certificate event, so it is fixed here first. **The retention service must publish exactly this
contract** (same routing key, same fields); it may add further events of its own.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


@register
class ErasureCertificateIssuedV1(EventPayload):
    """Two months after termination the account's acts were crypto-shredded and a signed
    erasure certificate was issued (CGU §12, R-termination).

    Subject: `account:<account_id>`. Produced by the retention service (later issue): it must
    publish exactly this contract. Notify e-mails the download link, then forgets the account's
    contact data: this is the last message the platform sends to that person.
    """

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "erasure-certificate-issued"
    version: ClassVar[int] = 1

    account_id: str
    email: EmailStr
    certificate_id: str
    download_url: str = Field(description="where the signed certificate can be downloaded")
    issued_at: AwareDatetime
