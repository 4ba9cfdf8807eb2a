"""The relay's TLS certificate expiry reaches the metrics (`securact.smtp.certificate.time_left`)
once notify has connected to it, over STARTTLS or implicit TLS; a clear-text relay has none."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

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
async def test_certificate_time_left_is_exported_after_a_tls_session(
    pki: Pki, mode: Mode, metrics_probe: MetricsProbe
) -> None:
    before = await metrics_probe.collect()
    assert before["securact.smtp.certificate.time_left"] == []
    relay = RecordingRelay(require_login=False)
    with relay_running(relay, mode, pki.trusted) as port:
        transport = _transport(port, mode, pki.ca_file, password=None)
        try:
            await transport.send(_message())
        finally:
            await transport.close()
    exported = await metrics_probe.collect()
    [point] = exported["securact.smtp.certificate.time_left"]
    assert point.attributes == {"server.address": RELAY_HOST}
    # The test relay's certificate is valid for one day from its issue.
    assert DAY - 600 < point.value <= DAY
    assert exported.units["securact.smtp.certificate.time_left"] == "s"


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
    assert exported["securact.smtp.certificate.time_left"] == []
