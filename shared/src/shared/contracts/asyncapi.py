"""The event bus as an AsyncAPI 3.0 document, assembled from the committed contract snapshots.

Channels are the routing keys on the `securact.events` topic exchange (one per registered
contract) and the platform's consumer queues (`PLATFORM_QUEUES`, bound to those routing keys).
Each contract's producer has a `send` operation on its routing key; each queue has a `receive`
operation for the service that consumes it. A message is the envelope (DESIGN §4) whose `payload`
is the contract's committed JSON Schema, with the AMQP headers the platform sets.

    python -m shared.contracts.asyncapi --write   # docs/asyncapi.json (`make asyncapi`)
    python -m shared.contracts.asyncapi           # check only (exit 1 when stale)

Every service also serves the document restricted to its own operations at `/asyncapi.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shared.contracts.registry import registered
from shared.contracts.snapshots import ENVELOPE_SNAPSHOT, SNAPSHOT_DIR, Schema, load_snapshot
from shared.jsondoc import JsonObject
from shared.messaging.consumer import (
    ATTEMPT_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
)
from shared.messaging.topology import EVENTS_EXCHANGE, PLATFORM_QUEUES

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
DOCUMENT_PATH = Path("docs/asyncapi.json")
ENVELOPE_COMPONENT = "Envelope"
HEADERS_COMPONENT = "AmqpHeaders"
DOC_VERSION = "1.0.0"
# AMQP delivery mode 2: the broker writes the message to disk (`persist=True` in bus.py).
PERSISTENT = 2
WILDCARD = "#"


class SnapshotMissingError(LookupError):
    """A registered contract has no committed snapshot (run `make schemas`)."""


def queue_channel_id(queue: str) -> str:
    return f"queue.{queue}"


def queue_service(queue: str) -> str:
    """The service that consumes a queue: queues are named `<service>.<purpose>`."""
    return queue.split(".", 1)[0]


def bound_keys(bindings: tuple[str, ...], keys: list[str]) -> list[str]:
    """The routing keys among `keys` that a queue's bindings receive (`#` is every key; the
    platform binds nothing else with a wildcard)."""
    if WILDCARD in bindings:
        return list(keys)
    return [key for key in bindings if key in keys]


def _rebase_refs(node: Any, base: str) -> Any:
    # Pydantic's local refs (`#/$defs/X`) point into the contract's own schema; inside the
    # document they must name that schema's place, or they would resolve against its root.
    if isinstance(node, dict):
        return {
            k: (
                base + v[1:]
                if k == "$ref" and isinstance(v, str) and v.startswith("#/")
                else _rebase_refs(v, base)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v, base) for v in node]
    return node


def unbase_refs(node: Any, base: str) -> Any:
    """The inverse of the rebasing: a component schema as its committed snapshot."""
    if isinstance(node, dict):
        return {
            k: (
                "#" + v[len(base) :]
                if k == "$ref" and isinstance(v, str) and v.startswith(base + "/")
                else unbase_refs(v, base)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [unbase_refs(v, base) for v in node]
    return node


def schema_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _snapshot(name: str, directory: Path) -> Schema:
    schema = load_snapshot(name, directory)
    if schema is None:
        raise SnapshotMissingError(f"no committed snapshot for {name} (run make schemas)")
    return schema


def _headers_schema() -> Schema:
    return {
        "type": "object",
        "description": "AMQP message headers. The message id is the envelope's `event_id`, the "
        "correlation id its `correlation_id`, the type its routing key (AMQP properties).",
        "properties": {
            "traceparent": {
                "type": "string",
                "description": "W3C trace context of the transaction that wrote the event.",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            },
            "tracestate": {"type": "string", "description": "W3C trace state, if any."},
            ATTEMPT_HEADER: {
                "type": "integer",
                "minimum": 1,
                "description": "Set when a failed delivery comes back from `<queue>.retry`: "
                "the attempt this delivery is (absent: 1).",
            },
            ROUTING_KEY_HEADER: {
                "type": "string",
                "description": "The original routing key, kept when a message is parked for "
                "retry or dead-lettered.",
            },
            REASON_HEADER: {
                "type": "string",
                "description": "Dead-lettered copies only (`<queue>.dlq`): the kind of failure, "
                "never the data that caused it.",
            },
            QUEUE_HEADER: {
                "type": "string",
                "description": "Dead-lettered copies only: the queue whose consumer gave up.",
            },
        },
    }


def _message(key: str, envelope_base: str) -> JsonObject:
    cls = registered()[key]
    doc = (cls.__doc__ or "").strip()
    return {
        "name": key,
        "title": cls.__name__,
        "summary": doc.split("\n\n", 1)[0].replace("\n", " ") if doc else key,
        "contentType": "application/json",
        "headers": {"$ref": schema_ref(HEADERS_COMPONENT)},
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "payload": {
            "allOf": [
                {"$ref": envelope_base},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": key},
                        "schema_version": {"const": cls.version},
                        "producer": {"const": cls.producer},
                        "payload": {"$ref": schema_ref(key)},
                    },
                },
            ]
        },
        "bindings": {"amqp": {"messageType": key, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _message_ref(channel: str, key: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{channel}/messages/{key}"}


def build(directory: Path = SNAPSHOT_DIR, *, service: str | None = None) -> JsonObject:
    """The AsyncAPI document of the whole bus, or only of `service`'s operations."""
    contracts = registered()
    keys = list(contracts)
    envelope_base = schema_ref(ENVELOPE_COMPONENT)
    schemas: JsonObject = {
        ENVELOPE_COMPONENT: _rebase_refs(_snapshot(ENVELOPE_SNAPSHOT, directory), envelope_base),
        HEADERS_COMPONENT: _headers_schema(),
    }
    messages: JsonObject = {}
    channels: JsonObject = {}
    operations: JsonObject = {}
    exchange = {
        "name": EVENTS_EXCHANGE,
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    for key, cls in contracts.items():
        schemas[key] = _rebase_refs(_snapshot(key, directory), schema_ref(key))
        messages[key] = _message(key, envelope_base)
        channels[key] = {
            "address": key,
            "title": cls.__name__,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": exchange,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
        operations[f"send.{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"{cls.producer} publishes {key} (persistent, confirmed, mandatory)",
            "messages": [_message_ref(key, key)],
            "tags": [{"name": cls.producer}],
            "bindings": {
                "amqp": {
                    "deliveryMode": PERSISTENT,
                    "mandatory": True,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
    for queue, bindings in PLATFORM_QUEUES.items():
        channel = queue_channel_id(queue)
        received = bound_keys(bindings, keys)
        channels[channel] = {
            "address": queue,
            "title": f"{queue} (quorum queue)",
            "description": f"Bound to {EVENTS_EXCHANGE} with: {', '.join(bindings)}. Failed "
            f"deliveries wait in `{queue}.retry`, then come back; the last failure lands in "
            f"`{queue}.dlq`.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in received},
            "bindings": {
                "amqp": {
                    "is": "queue",
                    "queue": {
                        "name": queue,
                        "durable": True,
                        "exclusive": False,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
            "x-securact-bindings": list(bindings),
        }
        operations[f"receive.{queue}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{queue_service(queue)} consumes {queue}",
            "messages": [_message_ref(channel, key) for key in received],
            "tags": [{"name": queue_service(queue)}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        }
    document: JsonObject = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "SECURACT-NG event bus" + (f" ({service})" if service else ""),
            "version": DOC_VERSION,
            "description": "Events of the platform on RabbitMQ (DESIGN §4), generated from the "
            "committed contract snapshots by `make asyncapi`. Every message is an envelope; "
            "its `payload` is the contract named by the routing key.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "RabbitMQ (quorum queues); the host is the deployment's.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
    return document if service is None else _restrict(document, service)


def _restrict(document: JsonObject, service: str) -> JsonObject:
    # Keep the service's operations and what they reference, nothing else.
    operations = {
        op_id: op
        for op_id, op in document["operations"].items()
        if op["tags"][0]["name"] == service
    }
    channel_ids = {op["channel"]["$ref"].rsplit("/", 1)[1] for op in operations.values()}
    channels = {cid: ch for cid, ch in document["channels"].items() if cid in channel_ids}
    message_ids = {key for ch in channels.values() for key in ch["messages"]}
    components = document["components"]
    return {
        **document,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {
                name: schema
                for name, schema in components["schemas"].items()
                if name in message_ids or name in {ENVELOPE_COMPONENT, HEADERS_COMPONENT}
            },
            "messages": {k: m for k, m in components["messages"].items() if k in message_ids},
        },
    }


def iter_refs(node: Any) -> Iterator[str]:
    """Every `$ref` in a document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


def render(document: JsonObject) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def asyncapi_router(service: str) -> APIRouter:
    """`GET /asyncapi.json`: the bus as `service` sees it (built once, at the first call)."""
    router = APIRouter(tags=["events"])
    cached: JsonObject = {}

    @router.get("/asyncapi.json", response_model=None, include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        if not cached:
            cached.update(build(service=service))
        return JSONResponse(cached)

    return router


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT_PATH}")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    text = render(build())
    path: Path = args.output
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text() == text:
            sys.stdout.write(f"{path} up to date\n")
        else:
            path.write_text(text)
            sys.stdout.write(f"wrote {path}\n")
        return 0
    if not path.exists() or path.read_text() != text:
        sys.stderr.write(f"{path} is stale: run make asyncapi\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
