"""docs/flows.md says what the code does: every event its hop tables name is a registered
contract, and the queues listed for it are exactly the platform queues bound to its routing key
(a queue missing from the doc, or one that no longer receives the event, fails here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shared.contracts import registered
from shared.messaging.topology import PLATFORM_QUEUES

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
HEADER = ("#", "service (trigger)", "store write", "event (routing key)", "queues")
NONE = "—"


@dataclass(frozen=True)
class Hop:
    flow: str
    number: str
    service: str
    event: str | None
    queues: tuple[str, ...]


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def hops(text: str) -> list[Hop]:
    """The rows of every hop table, under the flow (`##` heading) they belong to."""
    found: list[Hop] = []
    flow = ""
    for line in text.splitlines():
        if line.startswith("## "):
            flow = line.removeprefix("## ").strip()
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if tuple(cells) == HEADER or set("".join(cells)) <= {"-"}:
            continue
        assert len(cells) == len(HEADER), f"{flow}: a hop has {len(HEADER)} columns: {line}"
        number, service, _writes, event, queues = cells
        keys = _ticked(event)
        assert len(keys) <= 1, f"{flow} hop {number}: one event per row"
        assert keys or event == NONE, f"{flow} hop {number}: an event in `backticks`, or —"
        assert _ticked(queues) or queues == NONE, f"{flow} hop {number}: queues or —"
        found.append(Hop(flow, number, service, keys[0] if keys else None, tuple(_ticked(queues))))
    return found


def matches(binding: str, key: str) -> bool:
    """AMQP topic matching, word by word: `*` is one word, `#` zero or more."""

    def match(pattern: list[str], words: list[str]) -> bool:
        if not pattern:
            return not words
        if pattern[0] == "#":
            return any(match(pattern[1:], words[i:]) for i in range(len(words) + 1))
        return bool(words) and pattern[0] in ("*", words[0]) and match(pattern[1:], words[1:])

    return match(binding.split("."), key.split("."))


def bound_to(key: str) -> set[str]:
    return {q for q, bindings in PLATFORM_QUEUES.items() if any(matches(b, key) for b in bindings)}


def test_topic_matching_follows_amqp() -> None:
    assert matches("#", "delivery.act-served.v1")
    assert matches("delivery.act-served.v1", "delivery.act-served.v1")
    assert matches("delivery.*.v1", "delivery.act-served.v1")
    assert matches("delivery.#", "delivery.act-served.v1")
    assert not matches("delivery.*", "delivery.act-served.v1")
    assert not matches("consent.revoked.v1", "delivery.act-served.v1")


def test_the_doc_has_both_flows_with_their_hops() -> None:
    flows = {hop.flow for hop in hops(DOC.read_text(encoding="utf-8"))}
    assert flows == {"Serving an act", "Registering a consent declaration"}


def test_every_event_of_the_flows_is_a_registered_contract() -> None:
    known = set(registered())
    for hop in hops(DOC.read_text(encoding="utf-8")):
        if hop.event is not None:
            assert hop.event in known, f"{hop.flow} hop {hop.number}: {hop.event} is no contract"


def test_every_event_reaches_exactly_the_queues_the_doc_lists() -> None:
    for hop in hops(DOC.read_text(encoding="utf-8")):
        if hop.event is None:
            assert hop.queues == (), f"{hop.flow} hop {hop.number}: queues without an event"
            continue
        for queue in hop.queues:
            assert queue in PLATFORM_QUEUES, f"{hop.flow} hop {hop.number}: no queue {queue}"
        assert set(hop.queues) == bound_to(hop.event), f"{hop.flow} hop {hop.number}"


def test_a_consumer_hop_follows_an_event_that_reached_its_queue() -> None:
    for flow in ("Serving an act", "Registering a consent declaration"):
        reached: set[str] = set()
        for hop in [h for h in hops(DOC.read_text(encoding="utf-8")) if h.flow == flow]:
            consumed = [q for q in _ticked(hop.service) if q in PLATFORM_QUEUES]
            for queue in consumed:
                assert queue in reached, f"{flow} hop {hop.number}: nothing reached {queue} yet"
            reached.update(hop.queues)
