"""`POST /v1/acts`: the checks in their order, each refusal with its own problem type, the
deposit's record and events, idempotency, and the object store failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

from delivery.repository import IDEMPOTENCY
from delivery.vault import ACT_KEYS, object_key
from shared.contracts.consent import ActNature
from shared.vault import PENDING_OBJECTS
from tests.unit.delivery.conftest import ACT, MAX_ACT, Harness
from tests.unit.delivery.support import PNG, metadata, multipart, pdf


async def test_act_in_window_is_deposited_encrypted_with_its_events(harness: Harness) -> None:
    response = await harness.post()
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "served"
    assert body["served_at"] == "2031-04-08T08:00:00.000000Z"
    assert body["legal_local_time"].startswith("2031-04-08T10:00:00")
    act = await harness.act(body["id"])
    assert act["sha256"] == body["sha256"]
    stored = harness.objects.objects[object_key(body["id"])]
    assert stored.startswith(b"SCTA")
    assert ACT[:200] not in stored
    assert await harness.store.get(ACT_KEYS, body["id"]) is not None
    assert await harness.store.count(PENDING_OBJECTS) == 0
    served = await harness.events("delivery.act-served.v3")
    assert len(served) == 1
    assert served[0].payload["recipient_account_id"] == "acc-1"
    assert not {"recipient_email", "recipient_mobile"} & set(served[0].payload)
    assert "acc-1@example.org" not in repr(served[0].payload)
    assert served[0].payload["office_name"] == "Étude Martin"
    assert served[0].subject == f"act:{body['id']}"


async def test_missing_idempotency_key_is_refused(harness: Harness) -> None:
    response = await harness.post(key=None)
    assert response.status_code == 400
    assert response.json()["type"] == "urn:securact:problem:idempotency-key-required"


async def test_recipient_token_cannot_deposit(harness: Harness) -> None:
    body, content_type = multipart(metadata(), ACT)
    response = await harness.client.post(
        "/v1/acts",
        content=body,
        headers={
            "Content-Type": content_type,
            "Idempotency-Key": "k",
            **harness.tokens.recipient("acc-1"),
        },
    )
    assert response.status_code == 403


async def test_same_key_and_body_replays_the_original_response(harness: Harness) -> None:
    first = await harness.post(key="same")
    second = await harness.post(key="same")
    assert second.status_code == first.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await harness.store.count("acts") == 1
    assert len(await harness.events("delivery.act-served.v3")) == 1


async def test_same_key_with_another_document_is_refused(harness: Harness) -> None:
    assert (await harness.post(key="same")).status_code == 201
    other = await harness.post(key="same", document=pdf(3000, seed=b"other"))
    assert other.status_code == 422
    assert other.json()["type"] == "urn:securact:problem:idempotency-key-reused"
    changed = await harness.post(key="same", meta=metadata(title="Autre titre"))
    assert changed.status_code == 422
    assert await harness.store.count("acts") == 1


async def test_idempotency_keys_are_per_office(harness: Harness) -> None:
    assert (await harness.post(key="shared-key")).status_code == 201
    assert (await harness.post(key="shared-key", office="etude-2")).status_code == 201
    assert await harness.store.count(IDEMPOTENCY) == 2


async def test_renamed_png_is_refused_as_not_a_pdf(harness: Harness) -> None:
    response = await harness.post(document=PNG, filename="acte.pdf")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:securact:problem:document-not-pdf"
    assert await harness.store.count("acts") == 0
    assert harness.objects.objects == {}
    rejected = await harness.events("delivery.act-rejected.v1")
    assert rejected[0].payload["reasons"][0]["code"] == "document_not_pdf"


async def test_corrupted_pdfs_are_refused(harness: Harness) -> None:
    good = pdf(3000)
    truncated = good[: len(good) // 2]
    wrong_offset = good.replace(b"startxref\n", b"startxref\n1").replace(b"%%EOF", b"%%EOF")
    # A shell with the keywords in place but nothing inside (an audit's counter-example).
    hollow = b"%PDF-1.7\nxref\nstartxref\n9\n%%EOF"
    no_catalogue = good.replace(b"/Root", b"/Rote")
    for damaged in (truncated, wrong_offset, b"%PDF-1.7\n" + bytes(5000), hollow, no_catalogue):
        response = await harness.post(document=damaged, key=f"k{len(damaged)}")
        assert response.status_code == 422, damaged[-40:]
        assert response.json()["type"] == "urn:securact:problem:document-corrupted"
    assert await harness.store.count("acts") == 0


async def test_empty_document_is_refused(harness: Harness) -> None:
    response = await harness.post(document=b"")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:securact:problem:document-empty"


async def test_oversized_upload_is_refused_before_it_is_read(harness: Harness) -> None:
    big = pdf(MAX_ACT + 10)
    response = await harness.post(document=big)
    assert response.status_code == 413
    assert response.json()["type"] == "urn:securact:problem:upload-too-large"
    assert harness.objects.objects == {}
    assert await harness.store.count("acts") == 0


async def test_oversized_chunked_upload_stops_at_the_limit(harness: Harness) -> None:
    """No Content-Length: the body is pulled only up to the first byte over the limit."""
    body, content_type = multipart(metadata(), pdf(4 * MAX_ACT))
    pulled = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(body), 16 * 1024):
            pulled += 16 * 1024
            yield body[start : start + 16 * 1024]

    response = await harness.client.post(
        "/v1/acts",
        content=stream(),
        headers={
            "Content-Type": content_type,
            "Idempotency-Key": "chunked",
            **harness.tokens.office(),
        },
    )
    assert response.status_code == 413
    assert pulled < 2 * MAX_ACT


async def test_missing_or_invalid_metadata_is_refused(harness: Harness) -> None:
    missing = await harness.post(without_metadata=True, key="a")
    assert missing.status_code == 422
    invalid = await harness.post(meta=metadata(nature="saisie_immobiliere_inconnue"), key="b")
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["metadata", "nature"]
    blank = await harness.post(meta=metadata(title="   "), key="c")
    assert blank.status_code == 422
    control = await harness.post(meta=metadata(requester_name="SCI\x00X"), key="d")
    assert control.status_code == 422
    no_document = await harness.post(document=None, key="e")
    assert no_document.status_code == 422
    assert await harness.store.count("acts") == 0


async def test_invalid_utf8_in_metadata_is_refused(harness: Harness) -> None:
    raw = b'{"declaration_id": "decl-1", "nature": "autre", "title": "\xff\xfe", '
    raw += b'"requester_name": "x", "office_reference": "y"}'
    response = await harness.post(meta=raw)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:securact:problem:validation-failed"


async def test_path_traversal_file_name_is_reduced_to_a_harmless_name(harness: Harness) -> None:
    act_id = await harness.served(filename="../../../etc/passwd\x07.pdf")
    act = await harness.act(act_id)
    assert act["filename"] == "passwd.pdf"
    assert set(harness.objects.objects) == {object_key(act_id)}
    download = await harness.download(act_id)
    assert download.headers["content-disposition"] == f'attachment; filename="acte-{act_id}.pdf"'


async def test_unknown_declaration_is_refused(harness: Harness) -> None:
    response = await harness.post(meta=metadata("decl-unknown"))
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:consent-unknown"


async def test_revoked_consent_blocks_new_acts_at_once_and_old_ones_stay_readable(
    harness: Harness,
) -> None:
    act_id = await harness.served()
    await harness.revoke()
    response = await harness.post(key="after-revocation")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:consent-not-active"
    download = await harness.download(act_id)
    assert download.status_code == 200
    assert download.content == ACT


async def test_consent_revoked_while_the_document_uploads_refuses_the_act(
    harness: Harness,
) -> None:
    harness.objects.during_put = harness.revoke
    response = await harness.post()
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:consent-not-active"
    assert await harness.store.count("acts") == 0
    assert await harness.store.count(ACT_KEYS) == 0
    assert await harness.store.count(IDEMPOTENCY) == 0
    assert harness.objects.objects == {}
    assert await harness.events("delivery.act-served.v3") == []
    rejected = await harness.events("delivery.act-rejected.v1")
    assert [r.payload["act_sha256"] is not None for r in rejected] == [True]


async def test_consent_that_does_not_cover_the_nature_is_refused(harness: Harness) -> None:
    await harness.consent("decl-2", "acc-2", scope=(ActNature.ASSIGNATION,))
    response = await harness.post(meta=metadata("decl-2", nature="commandement_payer"))
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:consent-out-of-scope"


async def test_consent_past_its_last_day_is_refused(harness: Harness) -> None:
    await harness.consent("decl-3", "acc-3", valid_until=date(2031, 4, 7))
    response = await harness.post(meta=metadata("decl-3"))
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:consent-expired"
    await harness.consent("decl-4", "acc-4", valid_until=date(2031, 4, 8))
    assert (await harness.post(meta=metadata("decl-4"), key="k4")).status_code == 201


async def test_object_store_failure_answers_503_and_records_nothing(harness: Harness) -> None:
    harness.objects.fail_puts = True
    response = await harness.post()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert await harness.store.count("acts") == 0
    assert await harness.store.count(ACT_KEYS) == 0
    assert await harness.store.count(IDEMPOTENCY) == 0
    assert harness.objects.objects == {}
    assert await harness.events("delivery.act-served.v3") == []


async def test_failure_after_upload_leaves_no_readable_orphan_and_the_sweeper_removes_it(
    harness: Harness,
) -> None:
    # The object reached S3, but the object store cannot delete it and the record never
    # commits (the consent is revoked while the upload runs).
    harness.objects.fail_deletes = True
    original = harness.vault.upload

    async def upload_then_revoke(*args: object, **kwargs: object) -> object:
        stored = await original(*args, **kwargs)  # type: ignore[arg-type]
        await harness.revoke()
        return stored

    harness.vault.upload = upload_then_revoke  # type: ignore[method-assign,assignment]
    response = await harness.post()
    assert response.status_code == 409
    assert len(harness.objects.objects) == 1  # left behind...
    assert await harness.store.count(ACT_KEYS) == 0  # ...but unreadable: its DEK is gone
    harness.objects.fail_deletes = False
    assert await harness.vault.sweep(timedelta(hours=1)) == 0  # too young
    harness.clock.advance(timedelta(hours=2))
    assert await harness.vault.sweep(timedelta(hours=1)) == 1
    assert harness.objects.objects == {}
    assert await harness.store.count(PENDING_OBJECTS) == 0
