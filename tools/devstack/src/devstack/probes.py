"""Is a process up: its port open, its readiness URL answering 200."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import psutil

from devstack.stack import ProcessSpec


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_ready(spec: ProcessSpec, client: httpx.Client) -> bool:
    if spec.ready_url is None:
        return port_open(spec.port)
    try:
        return client.get(spec.ready_url).status_code == 200
    except httpx.HTTPError:
        return False


def listener_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:`port` (or any address), when it can be seen."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            pid: int | None = conn.pid
            return pid
    return None


@dataclass(frozen=True)
class WaitResult:
    ready: tuple[str, ...]
    not_ready: tuple[str, ...]
    aborted: bool  # the supervisor died while waiting


def wait_ready(
    specs: Sequence[ProcessSpec],
    timeout: float,
    still_running: Callable[[], bool],
    on_ready: Callable[[str, float], None],
    interval: float = 0.5,
) -> WaitResult:
    """Poll every process until all are ready, the timeout passes or the supervisor dies."""
    started = time.monotonic()
    pending = {spec.name: spec for spec in specs}
    ready: list[str] = []
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name, spec in list(pending.items()):
                if is_ready(spec, client):
                    ready.append(name)
                    del pending[name]
                    on_ready(name, time.monotonic() - started)
            if not pending:
                break
            if not still_running():
                return WaitResult(tuple(ready), tuple(pending), aborted=True)
            if time.monotonic() - started > timeout:
                break
            time.sleep(interval)
    return WaitResult(tuple(ready), tuple(pending), aborted=False)
