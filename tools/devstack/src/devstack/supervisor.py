"""Starts and stops the stack under honcho, detached, and finds what it left behind.

honcho runs in its own session (so closing the terminal or `make` returning does not stop it)
with its pid in `var/run/honcho.pid`. It starts each Procfile line in a session of its own and,
on SIGTERM, signals each of those groups, then SIGKILLs them after 5 s. Each line appends its
output to `var/log/<name>.log`; honcho's own lines (started/stopped) go to `var/log/honcho.log`.

Whatever survives that is found by the marker variable every stack process inherits
(`SECURACT_DEVSTACK_VAR=<this checkout's var/>`), or, when a process's environment cannot be
read, by a command line naming this checkout's `var/`. Not by "anything under .venv": the caller
itself (`make down`, a pytest run) runs from .venv.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import psutil

from devstack import seaweed
from devstack.stack import (
    DEV_S3_ACCESS_KEY,
    DEV_S3_SECRET_KEY,
    MARKER_VARIABLE,
    ProcessSpec,
    StackLayout,
)

logger = logging.getLogger(__name__)

HONCHO_KILL_WAIT_SECONDS = 5.0
_STOPPED_LINE = re.compile(r"\| (?P<name>\S+?)\.\d+ stopped \(rc=(?P<rc>-?\d+)\)")


@dataclass(frozen=True)
class StopReport:
    stopped_supervisor: bool
    leftovers_killed: tuple[int, ...]


def prepare_var(layout: StackLayout, env: Mapping[str, str]) -> None:
    """Create var/ and the SeaweedFS identities file (from the credentials the services get)."""
    for directory in (
        layout.log_dir,
        layout.data_dir,
        layout.seaweed_dir,
        layout.mailbox_dir,
        layout.run_dir,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    seaweed.write_s3_config(
        layout.s3_config,
        env.get("SECURACT_S3_ACCESS_KEY", DEV_S3_ACCESS_KEY),
        env.get("SECURACT_S3_SECRET_KEY", DEV_S3_SECRET_KEY),
    )


def procfile_text(layout: StackLayout, specs: Iterable[ProcessSpec]) -> str:
    """One Procfile line per process; `exec` so the shell honcho starts becomes the process
    (through `env` when the process has variables of its own, e.g. a replica's port)."""
    lines = []
    for spec in specs:
        own = [f"{key}={value}" for key, value in spec.env]
        command = shlex.join(["env", *own, *spec.argv] if own else list(spec.argv))
        log = shlex.quote(str(layout.log_of(spec.name)))
        lines.append(f"{spec.name}: exec {command} >>{log} 2>&1")
    return "\n".join(lines) + "\n"


def _is_supervisor(process: psutil.Process, layout: StackLayout) -> bool:
    try:
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    procfile = str(layout.procfile)
    return "honcho" in " ".join(cmdline) and any(procfile in arg for arg in cmdline)


def running_supervisor(layout: StackLayout) -> psutil.Process | None:
    """The honcho of this checkout's stack when it runs (a stale pid file is ignored)."""
    try:
        pid = int(layout.pid_file.read_text().strip())
        process = psutil.Process(pid)
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return None
    if process.status() == psutil.STATUS_ZOMBIE or not _is_supervisor(process, layout):
        return None
    return process


def _state(layout: StackLayout) -> dict[str, object]:
    try:
        state = json.loads(layout.state_file.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def started_processes(layout: StackLayout) -> list[str]:
    """Names of the processes the running stack was started with (a service's, not its
    replicas': `started_replicas` says how many)."""
    names = _state(layout).get("names", _state(layout).get("processes", []))
    return [str(name) for name in names] if isinstance(names, list) else []


def started_replicas(layout: StackLayout) -> int:
    """How many replicas of each service the running stack was started with."""
    replicas = _state(layout).get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def start(
    layout: StackLayout, specs: Sequence[ProcessSpec], env: Mapping[str, str], replicas: int = 1
) -> int:
    """Start honcho detached in its own session; returns its pid."""
    layout.procfile.write_text(procfile_text(layout, specs))
    names = list(dict.fromkeys(s.service or s.name for s in specs))
    state = {"processes": [s.name for s in specs], "names": names, "replicas": replicas}
    layout.state_file.write_text(json.dumps(state))
    argv = [
        sys.executable,
        "-m",
        "honcho",
        "start",
        "--no-colour",
        f"--procfile={layout.procfile}",
        f"--app-root={layout.root}",
        # An explicit, empty env file: a stray ./.env must not change the dev stack.
        "--env=/dev/null",
    ]
    with layout.supervisor_log.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=layout.root,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    layout.pid_file.write_text(f"{process.pid}\n")
    return process.pid


def _marked(process: psutil.Process, layout: StackLayout) -> bool:
    var = str(layout.var)
    try:
        marker: str | None = process.environ().get(MARKER_VARIABLE)
        return marker == var
    except psutil.AccessDenied:
        try:
            return any(var in arg for arg in process.cmdline())
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def leftovers(layout: StackLayout) -> list[psutil.Process]:
    """Live processes started by this checkout's stack (never this process or its parents)."""
    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}
    found = []
    for process in psutil.process_iter():
        if process.pid in spared:
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if _marked(process, layout):
            found.append(process)
    return found


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop(layout: StackLayout, timeout: float = 20.0) -> StopReport:
    """Stop the stack: SIGTERM honcho (which stops its children), wait, then kill whatever is
    left of this checkout's stack. A no-op when nothing runs."""
    supervisor = running_supervisor(layout)
    if supervisor is not None:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=timeout)
        except psutil.TimeoutExpired:
            logger.warning("honcho did not stop within %.0f s: killing its group", timeout)
            _kill_group(supervisor.pid, signal.SIGKILL)
            supervisor.wait(timeout=5)
        # honcho's per-process helper forks share its group: make sure they go too.
        _kill_group(supervisor.pid, signal.SIGKILL)
    killed = _kill_leftovers(layout)
    layout.pid_file.unlink(missing_ok=True)
    layout.state_file.unlink(missing_ok=True)
    return StopReport(supervisor is not None, killed)


def _kill_leftovers(layout: StackLayout) -> tuple[int, ...]:
    remaining = leftovers(layout)
    for process in remaining:
        logger.warning("terminating leftover process %d", process.pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(remaining, timeout=HONCHO_KILL_WAIT_SECONDS)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=HONCHO_KILL_WAIT_SECONDS)
    return tuple(p.pid for p in remaining)


def first_exit(layout: StackLayout, since: int) -> tuple[str, int] | None:
    """The process whose exit brought honcho down (honcho stops all when one stops), read
    from honcho's log after byte offset `since`."""
    try:
        with layout.supervisor_log.open("rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    match = _STOPPED_LINE.search(text)
    return (match["name"], int(match["rc"])) if match else None
