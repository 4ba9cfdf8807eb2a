"""The kernel's audit-receipts client against a recorded audit API (the real one is exercised in
tests/integration/retention/test_audit_receipts.py and delivery's evidence tests): indexes by
subject or by event id, a receipt per event or the reason it has none, asked again only for
what audit is about to have, and never an exception."""

from __future__ import annotations

import base64

import httpx
import pytest

from shared.receipts import AuditReceipts, NoReceipts, Receipt, ReceiptReason, RetryPolicy

FAST = RetryPolicy(attempts=3, delay_seconds=0, deadline_seconds=5)


class FakeAudit:
    """Audit's two read routes over a journal of (index, event id, subject)."""

    def __init__(self, entries: list[tuple[int, str, str]], checkpointed: set[int]) -> None:
        self.entries = entries
        self.checkpointed = checkpointed
        self.paths: list[str] = []
        self.fail_receipts_with: int | None = None
        self.timestamped: set[int] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/v1/entries":
            params = request.url.params
            rows = [
                {"index": i, "event_id": e, "subject": s}
                for i, e, s in self.entries
                if params.get("subject") in (None, s) and params.get("event_id") in (None, e)
            ]
            return httpx.Response(200, json={"entries": rows, "next_after": None})
        if request.url.path.endswith("/timestamp"):
            size = int(request.url.path.split("/")[3])
            found = size in self.timestamped
            return httpx.Response(200 if found else 404, content=b"token of %d" % size)
        index = int(request.url.path.rsplit("/", 1)[1])
        if self.fail_receipts_with is not None:
            return httpx.Response(self.fail_receipts_with)
        if index not in self.checkpointed:
            return httpx.Response(409)
        return httpx.Response(200, text=receipt_text(index))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle), base_url="http://a")


def receipt_text(index: int, size: int = 7) -> str:
    """A tlog-proof under the checkpoint of `size` (its note's second line)."""
    return f"c2sp.org/tlog-proof@v1\nindex {index}\n\nlog.test\n{size}\nROOT=\n\n— log.test sig\n"


@pytest.mark.parametrize("subject", ["act:1", None])
async def test_each_event_gets_its_receipt_or_the_reason_it_has_none(subject: str | None) -> None:
    audit = FakeAudit([(0, "e0", "act:1"), (1, "e1", "act:1")], checkpointed={0})
    async with audit.client() as http:
        found = await AuditReceipts(http).receipts(subject, ["e0", "e1", "e-missing"])
    assert found == {
        "e0": Receipt(0, receipt_text(0)),
        "e1": Receipt(1, None, ReceiptReason.NOT_CHECKPOINTED),
        "e-missing": Receipt(None, None, ReceiptReason.NOT_JOURNALED),
    }


async def test_only_receipts_audit_is_about_to_have_are_asked_again() -> None:
    audit = FakeAudit([(0, "e0", "act:1"), (1, "e1", "act:1")], checkpointed={0})
    async with audit.client() as http:
        found = await AuditReceipts(http, FAST).receipts(None, ["e0", "e1"])
    assert found["e1"].reason == ReceiptReason.NOT_CHECKPOINTED
    assert audit.paths.count("/v1/receipts/0") == 1
    assert audit.paths.count("/v1/receipts/1") == FAST.attempts
    # An index once found is not looked up again.
    assert audit.paths.count("/v1/entries") == 2


async def test_an_audit_error_is_a_reason_not_an_exception() -> None:
    audit = FakeAudit([(0, "e0", "act:1")], checkpointed={0})
    audit.fail_receipts_with = 500
    async with audit.client() as http:
        found = await AuditReceipts(http, FAST).receipts("act:1", ["e0"])
    assert found == {"e0": Receipt(0, None, ReceiptReason.ERROR)}


async def test_an_unreachable_audit_is_reported_for_every_event() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = httpx.MockTransport(refuse)
    async with httpx.AsyncClient(transport=transport, base_url="http://a") as http:
        found = await AuditReceipts(http, FAST).receipts("act:1", ["e0", "e1"])
    assert found == {
        "e0": Receipt(None, None, ReceiptReason.UNREACHABLE),
        "e1": Receipt(None, None, ReceiptReason.UNREACHABLE),
    }


async def test_without_an_audit_every_receipt_is_missing_and_says_why() -> None:
    assert await NoReceipts().receipts(None, ["e0"]) == {
        "e0": Receipt(None, None, ReceiptReason.NOT_CONFIGURED)
    }


async def test_a_receipt_carries_its_checkpoint_timestamp_once_the_tsa_gave_one() -> None:
    audit = FakeAudit([(0, "e0", "act:1"), (1, "e1", "act:1")], checkpointed={0, 1})
    async with audit.client() as http:
        receipts = AuditReceipts(http)
        before = await receipts.receipts("act:1", ["e0"])
        audit.timestamped.add(7)
        after = await receipts.receipts("act:1", ["e0", "e1"])
    assert before["e0"].timestamp is None  # not yet: asked again next time
    assert (
        after["e0"].timestamp == after["e1"].timestamp == base64.b64encode(b"token of 7").decode()
    )
    # One checkpoint, one token: fetched once when it exists.
    assert audit.paths.count("/v1/checkpoints/7/timestamp") == 2
