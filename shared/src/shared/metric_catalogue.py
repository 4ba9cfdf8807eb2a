"""What the platform measures: each instrument's name, kind, unit and buckets, and the names
Prometheus gives their series (the dashboards and alert rules are checked against them).
`shared.metrics` creates the instruments from this list and exports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# The semantic conventions' advice for `http.server.request.duration`, in seconds.
HTTP_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
# From an act served to the relay's acceptance: seconds to (while the relay is away) hours.
NOTIFICATION_LATENCY_BUCKETS: Final = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
)  # fmt: skip

Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument: its OTel name, kind, unit (UCUM; `{thing}` annotations for counts)."""

    attribute: str
    name: str
    kind: Kind
    unit: str
    description: str
    buckets: tuple[float, ...] = ()


INSTRUMENTS: Final[tuple[InstrumentSpec, ...]] = (
    InstrumentSpec(
        "http_server_duration",
        "http.server.request.duration",
        "histogram",
        "s",
        "Duration of HTTP server requests.",
        HTTP_DURATION_BUCKETS,
    ),
    InstrumentSpec("acts_served", "securact.acts.served", "counter", "{act}", "Acts served."),
    InstrumentSpec(
        "acts_scheduled",
        "securact.acts.scheduled",
        "counter",
        "{act}",
        "Acts accepted for the window's next opening (or held for a suspended account).",
    ),
    InstrumentSpec(
        "acts_refused", "securact.acts.refused", "counter", "{act}", "Acts refused, by reason."
    ),
    InstrumentSpec(
        "acts_finalised",
        "securact.acts.finalised",
        "counter",
        "{act}",
        "Served acts whose quality of service was determined (à personne, à domicile).",
    ),
    InstrumentSpec(
        "outbox_backlog",
        "securact.outbox.backlog",
        "gauge",
        "{event}",
        "Events written to the outbox and not yet published.",
    ),
    InstrumentSpec(
        "outbox_oldest_age",
        "securact.outbox.oldest_age",
        "gauge",
        "s",
        "Age of the oldest event not yet published (0 when none waits).",
    ),
    InstrumentSpec(
        "messaging_retries",
        "securact.messaging.retries",
        "counter",
        "{message}",
        "Messages parked for a later attempt after their handler failed.",
    ),
    InstrumentSpec(
        "messaging_dead_letters",
        "securact.messaging.dead_letters",
        "counter",
        "{message}",
        "Messages sent to their queue's dead-letter queue.",
    ),
    InstrumentSpec(
        "messaging_queue_depth",
        "securact.messaging.queue.depth",
        "gauge",
        "{message}",
        "Messages ready in a consumer queue, not yet taken (the consumer's lag).",
    ),
    InstrumentSpec(
        "messaging_dlq_depth",
        "securact.messaging.dlq.depth",
        "gauge",
        "{message}",
        "Messages waiting in a dead-letter queue.",
    ),
    InstrumentSpec(
        "journal_size",
        "securact.journal.size",
        "gauge",
        "{entry}",
        "Entries in the audit journal (its Merkle tree size).",
    ),
    InstrumentSpec(
        "journal_checkpoint_age",
        "securact.journal.checkpoint.age",
        "gauge",
        "s",
        "Time since the latest signed checkpoint of the journal.",
    ),
    InstrumentSpec(
        "journal_gaps",
        "securact.journal.gaps",
        "counter",
        "{gap}",
        "Gaps declared in a producer's sequence (events that never arrived).",
    ),
    InstrumentSpec(
        "notifications_sent",
        "securact.notifications.sent",
        "counter",
        "{notification}",
        "Notifications accepted by the relay (SMTP) or the SMS provider.",
    ),
    InstrumentSpec(
        "notifications_failed",
        "securact.notifications.failed",
        "counter",
        "{notification}",
        "Notifications given up (permanent refusal or retries exhausted).",
    ),
    InstrumentSpec(
        "notification_latency",
        "securact.notifications.latency",
        "histogram",
        "s",
        "From the event that asked for a notification (an act served) to its acceptance.",
        NOTIFICATION_LATENCY_BUCKETS,
    ),
    InstrumentSpec(
        "smtp_certificate_expiry",
        "securact.smtp.certificate.expiry",
        "gauge",
        "s",
        "When the SMTP relay's TLS certificate (as last seen) expires, in Unix seconds.",
    ),
    InstrumentSpec(
        "erasures_due",
        "securact.erasures.due",
        "gauge",
        "{erasure}",
        "Erasures whose date has come and that are not done yet.",
    ),
    InstrumentSpec(
        "erasures_overdue",
        "securact.erasures.overdue",
        "gauge",
        "{erasure}",
        "Erasures still not done past their grace period.",
    ),
    InstrumentSpec(
        "logins_failed",
        "securact.logins.failed",
        "counter",
        "{attempt}",
        "Failed identification attempts.",
    ),
    InstrumentSpec(
        "logins_throttled",
        "securact.logins.throttled",
        "counter",
        "{attempt}",
        "Identification attempts refused by a throttle, unchecked.",
    ),
)

# Prometheus's OTLP translation (UnderscoreEscapingWithSuffixes, its default): units it spells
# out become a suffix, `{annotations}` vanish, monotonic counters end in `_total`.
_PROMETHEUS_UNITS: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def prometheus_name(spec: InstrumentSpec) -> str:
    """The metric name Prometheus gives this instrument's series (histograms: the base)."""
    name = spec.name.replace(".", "_")
    suffix = _PROMETHEUS_UNITS.get(spec.unit)
    if suffix == "ratio" and spec.kind != "gauge":
        suffix = None
    if suffix and not name.endswith(f"_{suffix}"):
        name = f"{name}_{suffix}"
    if spec.kind == "counter":
        name = f"{name}_total"
    return name


def prometheus_series() -> frozenset[str]:
    """Every series name the code makes Prometheus store (histograms' three included)."""
    names: set[str] = set()
    for spec in INSTRUMENTS:
        base = prometheus_name(spec)
        if spec.kind == "histogram":
            names.update({f"{base}_bucket", f"{base}_sum", f"{base}_count"})
        else:
            names.add(base)
    return frozenset(names)
