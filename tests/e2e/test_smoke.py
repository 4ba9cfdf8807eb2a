"""`make smoke`: the local stack as a developer starts it, from `make up` to `make down`.

The acceptance test drives the real Makefile in the checkout (fixed ports 8101-8106, 8333, 1025,
8025), so it refuses to run over a stack someone already started rather than stop it under them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psutil
import pytest

from devstack import supervisor
from devstack.stack import (
    MAILBOX_HTTP_PORT,
    MAILBOX_SMTP_PORT,
    MARKER_VARIABLE,
    SERVICE_PORTS,
    SERVICES,
    StackLayout,
    missing_service_entry_points,
)

ROOT = Path(__file__).resolve().parents[2]
STACK_PORTS = (*SERVICE_PORTS.values(), 8333, MAILBOX_SMTP_PORT, MAILBOX_HTTP_PORT)
INFRA_PORTS = (8333, 9333, 8080, 8888, MAILBOX_SMTP_PORT, MAILBOX_HTTP_PORT)
READY_BUDGET_SECONDS = 90
STARTED_EVENT_BUDGET_SECONDS = 30
READY_LINE = re.compile(r"(?P<name>[a-z]+) ready after (?P<secs>[0-9.]+) s")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stack_processes(var: Path) -> list[int]:
    """Pids of live processes carrying this stack's marker (what `down` must leave none of)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(MARKER_VARIABLE) == str(var):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _run(argv: list[str], env: Mapping[str, str] | None = None, timeout: float = 240) -> str:
    result = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv)} failed ({result.returncode}):\n{output}"
    return output


def _assert_all_gone(var: Path, ports: tuple[int, ...], pid_file: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listening = [p for p in ports if _listening(p)]
        remaining = _stack_processes(var)
        if not listening and not remaining:
            break
        time.sleep(0.2)
    assert [p for p in ports if _listening(p)] == []
    assert _stack_processes(var) == []
    assert not pid_file.exists()


@pytest.fixture
def free_stack_ports() -> None:
    busy = [port for port in STACK_PORTS if _listening(port)]
    if busy:
        pytest.skip(f"ports {busy} are in use (a dev stack running? `make down` first)")


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.usefixtures("free_stack_ports")
def test_make_up_brings_every_service_ready_and_make_down_leaves_nothing() -> None:
    missing = missing_service_entry_points()
    if missing:
        pytest.skip(f"service entry points not installed yet: {', '.join(missing)}")
    layout = StackLayout(ROOT)
    try:
        output = _run(["make", "up"])
        # `make up` waits at most 90 s itself; its report says when each service became ready.
        ready_after = {m["name"]: float(m["secs"]) for m in READY_LINE.finditer(output)}
        assert set(SERVICES) <= set(ready_after), output
        assert max(ready_after[name] for name in SERVICES) < READY_BUDGET_SECONDS
        for name, port in SERVICE_PORTS.items():
            ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
            assert ready.status_code == 200, f"{name} not ready: {ready.text}"

        audit = f"http://127.0.0.1:{SERVICE_PORTS['audit']}/v1/entries"
        pending = set(SERVICES)
        deadline = time.monotonic() + STARTED_EVENT_BUDGET_SECONDS
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                answer = httpx.get(audit, params={"subject": f"service:{name}"}, timeout=5)
                if answer.status_code == 200:
                    types = {entry.get("type") for entry in answer.json()["entries"]}
                    if f"{name}.started.v1" in types:
                        pending.discard(name)
            time.sleep(0.5)
        assert pending == set(), f"audit shows no started event for: {sorted(pending)}"
    finally:
        _run(["make", "down"])
    _assert_all_gone(layout.var, STACK_PORTS, layout.pid_file)


@pytest.fixture
def free_infra_ports() -> None:
    busy = [port for port in INFRA_PORTS if _listening(port)]
    if busy:
        pytest.skip(f"ports {busy} are in use (a dev stack running? `make down` first)")


@pytest.fixture
def isolated_checkout(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`securact-dev` pointed at a scratch var/ so this test never touches a real stack."""
    env = {**os.environ, "SECURACT_DEV_ROOT": str(tmp_path)}
    yield env
    supervisor.stop(StackLayout(tmp_path))


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("free_infra_ports")
def test_up_is_idempotent_and_down_stops_exactly_what_up_started(
    isolated_checkout: dict[str, str], tmp_path: Path
) -> None:
    dev = [str(Path(sys.executable).parent / "securact-dev")]
    layout = StackLayout(tmp_path)

    first = _run([*dev, "up", "--only", "seaweedfs,mailbox"], isolated_checkout)
    assert "mailbox ready" in first
    honcho_pid = int(layout.pid_file.read_text())
    stack_pids = set(_stack_processes(layout.var))
    assert honcho_pid in stack_pids
    assert (layout.log_dir / "seaweedfs.log").exists()
    assert layout.s3_config.exists()

    again = _run([*dev, "up", "--only", "seaweedfs,mailbox"], isolated_checkout)
    assert "already running" in again
    assert int(layout.pid_file.read_text()) == honcho_pid
    assert set(_stack_processes(layout.var)) == stack_pids

    status = subprocess.run(
        [*dev, "status"], env=isolated_checkout, capture_output=True, text=True, timeout=30
    )
    assert status.returncode == 0, status.stdout
    assert "seaweedfs" in status.stdout
    assert "ready" in status.stdout

    assert "stack stopped" in _run([*dev, "down"], isolated_checkout)
    _assert_all_gone(layout.var, INFRA_PORTS, layout.pid_file)
    assert "nothing is running" in _run([*dev, "down"], isolated_checkout)
