"""Webhooks for offices, end to end: the office registers a receiver at notify, serves an act
at delivery, and its receiver gets the `act.served` webhook once, signed (Standard Webhooks,
checked with the `standardwebhooks` library); with the receiver down for 30 s, the next act's
webhook arrives after it is back, once, and the delivery log shows the failed attempts. A
rotated secret signs beside the previous one.

Real RabbitMQ, SeaweedFS, dev mailbox and an HTTP receiver on loopback; the services' apps in
this process."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running
from tests.support.stack import Mailbox, active_declaration, bearer, serving_stack
from tests.unit.delivery.support import metadata, multipart, pdf


class Receiver:
    """An office's receiver on loopback: records each request (headers, body)."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(body, headers)
    return payload


@pytest.mark.slow
async def test_an_office_receives_each_act_webhook_once_signed_even_after_its_receiver_was_down(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    receiver = Receiver()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        async with (
            running(stack.identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify) as notify_client,
            running(stack.audit),
            running(stack.delivery) as delivery_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            office = bearer(
                await office_token(
                    stack.identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )
            registered = await notify_client.post(
                "/v1/webhooks/endpoints",
                json={"url": receiver.url, "events": ["act.served", "act.cognisance"]},
                headers=office,
            )
            assert registered.status_code == 201, registered.text
            endpoint = registered.json()
            secret = endpoint["secret"]
            assert secret.startswith("whsec_")
            listed = (await notify_client.get("/v1/webhooks/endpoints", headers=office)).json()
            assert [e["id"] for e in listed["endpoints"]] == [endpoint["id"]]
            assert "secret" not in listed["endpoints"][0]

            declaration_id, _ = await active_declaration(
                consent_client, identity_client, box, office
            )

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active"

            await eventually(delivery_knows_consent, within=30)

            async def serve(key: str) -> str:
                body, content_type = multipart(metadata(declaration_id), pdf(10_000, key.encode()))
                served = await delivery_client.post(
                    "/v1/acts",
                    content=body,
                    headers={"Content-Type": content_type, "Idempotency-Key": key, **office},
                )
                assert served.status_code == 201, served.text
                return str(served.json()["id"])

            # 1. Served → one signed webhook, thin (no personal datum).
            first = await serve("hook-1")

            async def received(count: int) -> bool:
                return len(receiver.received) >= count

            await eventually(lambda: received(1), within=30)
            headers, body = receiver.received[0]
            event = _verified(secret, headers, body)
            assert event["type"] == "act.served"
            assert event["data"]["act_id"] == first
            assert set(event["data"]) == {"act_id", "served_at", "act_sha256"}
            with pytest.raises(WebhookVerificationError):
                _verified(secret, headers, body.replace(first.encode(), b"x" * len(first)))

            # 2. The receiver is down for 30 s: the next act's webhook waits, then arrives once.
            port = receiver.port
            receiver.stop()
            second = await serve("hook-2")
            await asyncio.sleep(30)
            log = await notify_client.get(
                f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries", headers=office
            )
            assert log.status_code == 200, log.text
            waiting = next(d for d in log.json()["deliveries"] if d["act_id"] == second)
            assert waiting["state"] == "pending"
            assert waiting["attempts"] >= 2
            assert waiting["last_error"]
            receiver = Receiver(port)
            await eventually(lambda: received(1), within=30)
            await asyncio.sleep(3)  # a second copy would come within the retry delays
            assert len(receiver.received) == 1
            headers, body = receiver.received[0]
            event = _verified(secret, headers, body)
            assert (event["type"], event["data"]["act_id"]) == ("act.served", second)
            assert headers["webhook-id"] == waiting["webhook_id"]
            log = await notify_client.get(
                f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries", headers=office
            )
            done = next(d for d in log.json()["deliveries"] if d["act_id"] == second)
            assert done["state"] == "delivered"
            assert done["last_status"] == 204

            # 3. Rotation: both secrets sign during the grace period.
            rotated = await notify_client.post(
                f"/v1/webhooks/endpoints/{endpoint['id']}/secret-rotation", headers=office
            )
            assert rotated.status_code == 200, rotated.text
            new_secret = rotated.json()["secret"]
            assert new_secret != secret
            third = await serve("hook-3")
            await eventually(lambda: received(2), within=30)
            headers, body = receiver.received[1]
            assert json.loads(body)["data"]["act_id"] == third
            assert len(headers["webhook-signature"].split(" ")) == 2
            _verified(secret, headers, body)
            _verified(new_secret, headers, body)

            # Another office sees nothing of this endpoint.
            other = bearer(
                await office_token(
                    stack.identity, identity_client, ("acts:write",), office_id="etude-autre"
                )
            )
            hidden = await notify_client.get(
                f"/v1/webhooks/endpoints/{endpoint['id']}", headers=other
            )
            assert hidden.status_code == 404
            assert hidden.headers["content-type"].startswith("application/problem+json")
        await stack.audit_http.aclose()
    finally:
        receiver.stop()
        box.stop()
