"""Settings of the audit service: env `SECURACT_AUDIT_*`, then `SECURACT_*`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from shared.settings import BaseServiceSettings, service_config


class WitnessSetting(BaseModel):
    url: str
    verifier_key: str


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "audit"
    default_port: ClassVar[int] = 8105
    model_config = service_config("audit")

    checkpoint_origin: str = Field(
        default="securact.local/audit",
        description="The log's origin line in every checkpoint (C2SP tlog-checkpoint).",
    )
    checkpoint_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often a checkpoint is signed when the tree grew."
    )
    gap_delay_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a producer_seq gap may stay open before it is declared.",
    )
    journal_prefetch: int = Field(
        default=512,
        ge=1,
        description="Messages RabbitMQ may hand the journal consumer before their acks: "
        "twice the batch lets the next batch arrive while one is committed.",
    )
    journal_batch_size: int = Field(
        default=256,
        ge=1,
        description="Envelopes journaled in one store transaction at most (group commit), "
        "and taken from the queue in one batch at most.",
    )

    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 TSA every checkpoint is timestamped by (none: no timestamps).",
    )
    tsa_chain_file: Path | None = Field(
        default=None,
        description="PEM bundle of the TSA's pinned chain (root and intermediates); "
        "required with tsa_url.",
    )
    witnesses: list[WitnessSetting] = Field(
        default_factory=list,
        description="C2SP tlog-witnesses each new checkpoint is sent to, with their "
        "cosignature/v1 verifier keys (JSON list of {url, verifier_key}).",
    )
    evidence_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often missing timestamps and cosignatures are sought."
    )
