"""What delivery's OpenAPI says beyond the route signatures: the binary answers, the streamed
multipart deposit's body, and the main operations' examples."""

from __future__ import annotations

from typing import Final

from shared.openapi import Responses, with_examples

PDF: Final[Responses] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}
REPLY_FILE: Final[Responses] = {
    200: {
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/pdf", "image/jpeg", "image/png")
        }
    }
}
DEPOSIT_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "document"],
                    "properties": {
                        "metadata": {"type": "string", "description": "ActMetadata JSON"},
                        "judge_leave": {"type": "string", "format": "binary"},
                        "document": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


_ACT_ID: Final = "01JF8Z6Q4V3T2N9X5B7C1D0E2F"
_SHA256: Final = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DEPOSIT_EXAMPLE: Final = with_examples(
    DEPOSIT_BODY,
    request=(
        "multipart/form-data",
        {
            "metadata": '{"declaration_id": "01JF8YZ1K2M3N4P5Q6R7S8T9V0", '
            '"nature": "signification_jugement", "title": "Signification du jugement du 3 mars", '
            '"requester_name": "SCI Les Tilleuls", "office_reference": "2026-0412"}',
            "document": "(the act, PDF)",
        },
    ),
    responses={
        201: {
            "id": _ACT_ID,
            "status": "served",
            "submitted_at": "2026-03-10T09:15:02.184Z",
            "scheduled_for": None,
            "served_at": "2026-03-10T09:15:03.027Z",
            "legal_local_time": "2026-03-10T10:15:03+01:00",
            "recipient_territory": "metropole",
            "sha256": _SHA256,
            "size": 48213,
            "judge_leave_used": False,
        }
    },
)
EVIDENCE_EXAMPLE: Final = with_examples(
    responses={
        200: {
            "format": "securact-ng/evidence-set/v1",
            "act_id": _ACT_ID,
            "act_sha256": _SHA256,
            "generated_at": "2026-03-12T08:00:00.000Z",
            "evidence": [
                {
                    "format": "securact-ng/evidence/v1",
                    "evidence_id": "01JF8Z6Q5A0B1C2D3E4F5G6H7J",
                    "type": "SubmissionAcceptance",
                    "act_id": _ACT_ID,
                    "act_sha256": _SHA256,
                    "instant": "2026-03-10T09:15:03.027Z",
                    "actors": {"platform": "securact-ng", "office_id": "etude-1"},
                    "details": {},
                    "event_id": "01JF8Z6Q5A0B1C2D3E4F5G6H7K",
                    "signature": {"alg": "Ed25519", "kid": "a1b2c3d4", "value": "base64…"},
                    "journal_index": 1041,
                    "receipt": None,
                    "receipt_reason": "not yet in a signed checkpoint",
                }
            ],
            "signature": {"alg": "Ed25519", "kid": "a1b2c3d4", "value": "base64…"},
        }
    }
)
