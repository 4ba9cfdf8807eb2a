"""The relay's TLS certificate expiry reaches the metrics (`securact.smtp.certificate.expiry`)
once notify has connected to it, over STARTTLS or implicit TLS; a clear-text relay has none."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from shared.clock import SystemClock
from tests.fixtures.metrics import MetricsProbe
from tests.integration.notify.support import free_port
from tests.integration.notify.test_smtp_tls import (
    RELAY_HOST,
    Mode,
    Pki,
    RecordingRelay,
    _message,
    _transport,
    pki,
    relay_running,
)

__all__ = ["pki"]  # the fixture, imported for these tests

DAY = 86_400


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_certificate_expiry_is_exported_after_a_tls_session(
    pki: Pki, mode: Mode, metrics_probe: MetricsProbe
) -> None:
    before = await metrics_probe.collect()
    assert before["securact.smtp.certificate.expiry"] == []
    relay = RecordingRelay(require_login=False)
    with relay_running(relay, mode, pki.trusted) as port:
        transport = _transport(port, mode, pki.ca_file, password=None)
        try:
            await transport.send(_message())
        finally:
            await transport.close()
    exported = await metrics_probe.collect()
    [point] = exported["securact.smtp.certificate.expiry"]
    assert point.attributes == {"server.address": RELAY_HOST}
    # The test relay's certificate is valid for one day from its issue (whole seconds).
    expires = SystemClock().now().timestamp() + DAY
    assert expires - 600 < point.value <= expires
    assert exported.units["securact.smtp.certificate.expiry"] == "s"


async def test_a_clear_text_relay_exports_no_certificate(
    pki: Pki, metrics_probe: MetricsProbe
) -> None:
    relay = RecordingRelay(require_login=False)
    port = free_port()
    controller = Controller(relay, hostname=RELAY_HOST, port=port)
    controller.start()
    try:
        transport = _transport(port, None, pki.ca_file, password=None)
        try:
            await transport.send(_message())
        finally:
            await transport.close()
    finally:
        controller.stop()
    exported = await metrics_probe.collect()
    assert exported["securact.smtp.certificate.expiry"] == []
