"""The AsyncAPI 3.0 document of the bus: built from the committed snapshots, valid against the
official AsyncAPI 3.0.0 JSON Schema (vendored: no AsyncAPI 3 validator is maintained on PyPI),
every `$ref` resolving, every queue binding naming a channel, and docs/asyncapi.json current."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator

from shared.contracts import registered
from shared.contracts.asyncapi import (
    ENVELOPE_COMPONENT,
    asyncapi_router,
    build,
    iter_refs,
    main,
    queue_channel_id,
    render,
    schema_ref,
    unbase_refs,
)
from shared.contracts.snapshots import SNAPSHOT_DIR, load_snapshot
from shared.messaging.consumer import ATTEMPT_HEADER
from shared.messaging.topology import EVENTS_EXCHANGE, PLATFORM_QUEUES
from tests.support.services import service_env

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests/fixtures/asyncapi/asyncapi-3.0.0.schema.json"
SERVICES = ("identity", "consent", "delivery", "notify", "audit", "retention")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Through JSON, as it is published: tuples become lists, keys strings.
    loaded: dict[str, Any] = json.loads(render(build()))
    return loaded


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    return Draft7Validator(json.loads(SPEC.read_text()))


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not local"
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref} does not resolve at {part!r}"
        assert part in node, f"{ref} does not resolve at {part!r}"
        node = node[part]
    # A reference to a reference (an operation's message names the channel's) resolves on.
    if isinstance(node, dict) and set(node) == {"$ref"}:
        return _resolve(document, node["$ref"])
    return node


def _errors(validator: Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(document)
    ]


def test_document_is_valid_asyncapi_3(document: dict[str, Any], validator: Draft7Validator) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert _errors(validator, document) == []


def test_the_validator_rejects_a_broken_document(
    document: dict[str, Any], validator: Draft7Validator
) -> None:
    # The vendored schema really checks the bindings and operations, not just the top level.
    broken = json.loads(json.dumps(document))
    key = next(iter(registered()))
    broken["channels"][key]["bindings"]["amqp"]["exchange"]["type"] = "round-robin"
    broken["operations"][f"send.{key}"]["action"] = "publish"
    del broken["info"]["version"]
    errors = _errors(validator, broken)
    # A channel is "a channel or a reference": errors below it are reported at the channel.
    assert sorted(e.split(":", 1)[0] for e in errors) == [
        f"channels/{key}",
        "info",
        f"operations/send.{key}",
    ], errors


@pytest.mark.parametrize("service", [None, *SERVICES])
def test_every_ref_resolves(service: str | None) -> None:
    document = json.loads(render(build(service=service)))
    refs = list(iter_refs(document))
    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_every_registered_contract_has_a_channel_with_its_snapshot_as_payload(
    document: dict[str, Any],
) -> None:
    contracts = registered()
    assert contracts
    for key, cls in contracts.items():
        channel = document["channels"][key]
        assert channel["address"] == key
        amqp = channel["bindings"]["amqp"]
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"] == {
            "name": EVENTS_EXCHANGE,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }
        message = _resolve(document, channel["messages"][key]["$ref"])
        envelope, narrowing = message["payload"]["allOf"]
        assert envelope == {"$ref": schema_ref(ENVELOPE_COMPONENT)}
        assert narrowing["properties"]["type"] == {"const": key}
        payload_ref = narrowing["properties"]["payload"]["$ref"]
        committed = load_snapshot(key, SNAPSHOT_DIR)
        assert committed is not None
        assert unbase_refs(_resolve(document, payload_ref), payload_ref) == committed
        send = document["operations"][f"send.{key}"]
        assert send["action"] == "send"
        assert send["tags"] == [{"name": cls.producer}]
        assert _resolve(document, send["channel"]["$ref"]) is channel


def test_envelope_component_is_the_committed_envelope(document: dict[str, Any]) -> None:
    base = schema_ref(ENVELOPE_COMPONENT)
    assert unbase_refs(_resolve(document, base), base) == load_snapshot("envelope", SNAPSHOT_DIR)


def test_messages_carry_trace_and_attempt_headers(document: dict[str, Any]) -> None:
    for message in document["components"]["messages"].values():
        headers = _resolve(document, message["headers"]["$ref"])
        assert {"traceparent", ATTEMPT_HEADER} <= set(headers["properties"])


@pytest.mark.parametrize("queue", sorted(PLATFORM_QUEUES))
def test_every_queue_binding_resolves_to_a_channel_its_consumer_receives(
    document: dict[str, Any], queue: str
) -> None:
    channel = document["channels"][queue_channel_id(queue)]
    assert channel["bindings"]["amqp"]["is"] == "queue"
    assert channel["bindings"]["amqp"]["queue"]["name"] == queue
    bindings = PLATFORM_QUEUES[queue]
    expected = set(registered()) if "#" in bindings else set(bindings)
    # Every bound routing key is a published contract's channel...
    assert [key for key in expected if key not in document["channels"]] == []
    # ...and the queue's receive operation names exactly those messages.
    receive = document["operations"][f"receive.{queue}"]
    assert receive["action"] == "receive"
    assert receive["tags"] == [{"name": queue.split(".", 1)[0]}]
    received = {_resolve(document, m["$ref"])["name"] for m in receive["messages"]}
    assert received == expected


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_document_holds_its_own_operations_only(service: str) -> None:
    document = json.loads(render(build(service=service)))
    tags = {op["tags"][0]["name"] for op in document["operations"].values()}
    assert tags == {service}
    produced = {key for key, cls in registered().items() if cls.producer == service}
    assert {op_id for op_id in document["operations"] if op_id.startswith("send.")} == {
        f"send.{key}" for key in produced
    }


def test_each_service_publishes_its_document() -> None:
    app = FastAPI()
    app.include_router(asyncapi_router("notify"))
    response = TestClient(app).get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(render(build(service="notify")))


def test_committed_document_is_current() -> None:
    committed = (ROOT / "docs/asyncapi.json").read_text()
    assert committed == render(build()), "docs/asyncapi.json is stale: run make asyncapi"


def test_cli_check_fails_on_a_stale_document(tmp_path: Path) -> None:
    target = tmp_path / "asyncapi.json"
    assert main(["--output", str(target)]) == 1
    assert main(["--write", "--output", str(target)]) == 0
    assert main(["--output", str(target)]) == 0
    target.write_text(target.read_text().replace(EVENTS_EXCHANGE, "elsewhere"))
    assert main(["--output", str(target)]) == 1


@pytest.mark.parametrize("name", SERVICES)
async def test_every_service_app_serves_its_part_of_the_document(name: str, tmp_path: Path) -> None:
    # Built, not started: the route needs neither the broker nor the store.
    settings_class: Any = importlib.import_module(f"{name}.settings").Settings
    app = importlib.import_module(f"{name}.main").create_app(
        settings_class(**service_env(tmp_path, "never-"))
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(render(build(service=name)))
