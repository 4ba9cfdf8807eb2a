"""`securact-dev`: the local stack behind `make up`, `make down`, `make status`, `make logs`.

    securact-dev up [--only seaweedfs,mailbox] [--replicas 2] [--timeout 90] [--keep-on-failure]
    securact-dev down
    securact-dev status
    securact-dev logs [-n 50] [--no-follow] [NAME ...]
    securact-dev mailbox [--smtp-port 1025] [--http-port 8025] [--dir var/mailbox]
    securact-dev trace ACT_ID

Spans: every service keeps a copy in var/spans/<service>.jsonl (`trace` reads them); set
`SECURACT_OTLP_ENDPOINT=http://127.0.0.1:4318` before `make up` to send them to a collector too.

State lives under the checkout's var/: data (var/data, var/seaweedfs, var/mailbox), one log per
process (var/log/<name>.log, honcho's own in var/log/honcho.log), the pid file (var/run/).

`--replicas 2` runs two processes of every service: replica 2 of identity is `identity-2` on
port 8201 (the base port + 100), and so on. A service's replicas share its SQLite store in
var/data (so they run on one host: replicas on several hosts need MongoDB), the stack's keys
in var/keys and the broker; `status` shows each replica's health.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from devstack import keys, mailbox, probes, supervisor, traces
from devstack.stack import (
    ALL_PROCESSES,
    AMQP_PORT,
    MAILBOX_HTTP_PORT,
    MAILBOX_SMTP_PORT,
    RABBITMQ_MANAGEMENT_PORT,
    ProcessSpec,
    StackLayout,
    missing_service_entry_points,
    process_specs,
    stack_environment,
)
from shared.messaging.topology import Topology, delete_topology

EXIT_NOT_RUNNING = 3


def _say(message: str) -> None:
    print(f"[securact-dev] {message}", flush=True)


def _names(only: str | None) -> list[str]:
    if not only:
        return list(ALL_PROCESSES)
    return [name.strip() for name in only.split(",") if name.strip()]


def _print_urls(specs: Sequence[ProcessSpec]) -> None:
    names = {spec.name for spec in specs}
    lines = []
    for spec in specs:
        if spec.is_service:
            lines.append(f"  {spec.name:<12} http://127.0.0.1:{spec.port}  (/health/ready)")
    if "seaweedfs" in names:
        lines.append("  S3         http://127.0.0.1:8333  (SeaweedFS; key securact-dev)")
    if "mailbox" in names:
        lines.append(
            f"  mailbox    http://127.0.0.1:{MAILBOX_HTTP_PORT}  (UI; API /api/v1/messages),"
            f" SMTP 127.0.0.1:{MAILBOX_SMTP_PORT}"
        )
    lines.append(f"  RabbitMQ   amqp://127.0.0.1:{AMQP_PORT}")
    if probes.port_open(RABBITMQ_MANAGEMENT_PORT):
        lines.append(f"             http://127.0.0.1:{RABBITMQ_MANAGEMENT_PORT}  (management)")
    print("\n".join(lines), flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    layout = StackLayout.discover()
    running = supervisor.running_supervisor(layout)
    if running is not None:
        names = supervisor.started_processes(layout) or list(ALL_PROCESSES)
        _say(f"the stack is already running (honcho pid {running.pid}); nothing started.")
        _say("`make status` shows its state, `make down` stops it.")
        _print_urls(process_specs(layout, names, supervisor.started_replicas(layout)))
        return 0

    names = _names(args.only)
    try:
        specs = process_specs(layout, names, args.replicas)
    except ValueError as error:
        _say(f"{error} (known: {', '.join(ALL_PROCESSES)})")
        return 2
    missing = missing_service_entry_points(sorted({s.service for s in specs if s.service}))
    if missing:
        _say(f"service entry points not installed: {', '.join(missing)}.")
        _say("Run `make bootstrap`, or start the rest with --only seaweedfs,mailbox.")
        return 2

    # A previous stack whose honcho died may have left processes: clear them first.
    supervisor.stop(layout)
    busy = [spec for spec in specs if probes.port_open(spec.port)]
    if busy:
        for spec in busy:
            pid = probes.listener_pid(spec.port)
            owner = f"pid {pid}" if pid else "another process"
            _say(f"port {spec.port} ({spec.name}) is already in use by {owner}.")
        return 1
    if any(spec.is_service for spec in specs) and not probes.port_open(AMQP_PORT):
        _say(f"warning: no broker on 127.0.0.1:{AMQP_PORT}; run scripts/ensure-rabbitmq.sh.")

    env = stack_environment(layout, os.environ)
    supervisor.prepare_var(layout, env)
    if env.get("SECURACT_KEYS") == "pkcs11":
        try:
            keys.ensure_dev_token(env, _say)
        except keys.TokenUnavailableError as error:
            _say(str(error))
            return 2
    else:
        keys.ensure_dev_keys(
            Path(env["SECURACT_KEK_FILE"]), Path(env["SECURACT_SIGNING_KEY_FILE"]), _say
        )
    log_offset = layout.supervisor_log.stat().st_size if layout.supervisor_log.exists() else 0
    pid = supervisor.start(layout, specs, env, args.replicas)
    _say(f"starting {', '.join(s.name for s in specs)} (honcho pid {pid}; logs in var/log/)")

    result = probes.wait_ready(
        specs,
        timeout=args.timeout,
        still_running=lambda: supervisor.running_supervisor(layout) is not None,
        on_ready=lambda name, seconds: _say(f"  {name} ready after {seconds:.1f} s"),
    )
    if result.not_ready:
        why = "the stack stopped" if result.aborted else f"not ready after {args.timeout:.0f} s"
        _say(f"{why}: {', '.join(result.not_ready)}.")
        culprit = supervisor.first_exit(layout, log_offset) if result.aborted else None
        if culprit is not None:
            _say(f"  {culprit[0]} exited first (rc={culprit[1]}), so honcho stopped the rest.")
        for name in result.not_ready:
            _say(f"  see {layout.log_of(name)}")
        _say(f"  and {layout.supervisor_log}")
        if not args.keep_on_failure:
            supervisor.stop(layout)
            _say("stopped what had started (use --keep-on-failure to inspect it running).")
        return 1
    _say("ready:")
    _print_urls(specs)
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """Everything `up` leaves behind: processes, var/ (data, keys, mail) and the events still
    queued on the dev broker, which would otherwise reach the new, empty journal."""
    layout = StackLayout.discover()
    supervisor.stop(layout)
    env = stack_environment(layout, os.environ)
    prefix = env.get("SECURACT_BUS_PREFIX", "")
    failed = asyncio.run(delete_topology(env["SECURACT_AMQP_URL"], Topology(prefix)))
    if failed:
        _say(f"could not delete on the broker: {', '.join(failed)}")
    shutil.rmtree(layout.var, ignore_errors=True)
    _say("stack stopped, var/ and the dev queues deleted.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    layout = StackLayout.discover()
    report = supervisor.stop(layout, timeout=args.timeout)
    if not report.stopped_supervisor and not report.leftovers_killed:
        _say("nothing is running.")
        return 0
    if report.stopped_supervisor:
        _say("stack stopped.")
    if report.leftovers_killed:
        pids = ", ".join(str(p) for p in report.leftovers_killed)
        _say(f"killed leftover processes: {pids}.")
    remaining = supervisor.leftovers(layout)
    if remaining:
        _say(f"still running: {', '.join(str(p.pid) for p in remaining)}.")
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    layout = StackLayout.discover()
    running = supervisor.running_supervisor(layout)
    names = supervisor.started_processes(layout) if running else []
    replicas = supervisor.started_replicas(layout)
    if running is None:
        _say("the stack is not running (`make up` starts it).")
        strays = supervisor.leftovers(layout)
        if strays:
            _say(f"stray processes of a previous stack: {', '.join(str(p.pid) for p in strays)}")
            _say("(`make down` removes them)")
        return EXIT_NOT_RUNNING
    _say(f"honcho pid {running.pid}")
    all_ready = True
    with httpx.Client(timeout=2.0) as client:
        print(f"  {'process':<12} {'port':>5} {'pid':>7}  state", flush=True)
        for spec in process_specs(layout, names or list(ALL_PROCESSES), replicas):
            pid = probes.listener_pid(spec.port)
            if probes.is_ready(spec, client):
                state = "ready"
            elif probes.port_open(spec.port):
                state = "listening, not ready"
            else:
                state = "down"
            all_ready = all_ready and state == "ready"
            print(f"  {spec.name:<12} {spec.port:>5} {pid or '-':>7}  {state}", flush=True)
    broker = "up" if probes.port_open(AMQP_PORT) else "DOWN"
    print(f"  {'rabbitmq':<12} {AMQP_PORT:>5} {'-':>7}  {broker}", flush=True)
    return 0 if all_ready else 1


def cmd_logs(args: argparse.Namespace) -> int:
    layout = StackLayout.discover()
    if args.names:
        files = [layout.log_of(name) for name in args.names]
    else:
        files = sorted(layout.log_dir.glob("*.log")) if layout.log_dir.exists() else []
    files = [f for f in files if f.exists()]
    if not files:
        _say(f"no logs yet in {layout.log_dir}.")
        return 1
    tail = shutil.which("tail")
    if tail is None:
        _say("`tail` not found.")
        return 1
    argv = [tail, "-n", str(args.lines), *([] if args.no_follow else ["-F"]), *map(str, files)]
    sys.stdout.flush()
    os.execv(tail, argv)  # noqa: S606 (hand the terminal to tail, no shell involved)
    return 0  # unreachable: execv replaces this process


def cmd_mailbox(args: argparse.Namespace) -> int:
    return mailbox.run(args)


def cmd_trace(args: argparse.Namespace) -> int:
    layout = StackLayout.discover()
    lines = traces.show(layout.spans_dir, args.act_id)
    if not lines:
        _say(f"no span names act {args.act_id} in {layout.spans_dir}.")
        return 1
    print("\n".join(lines), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-dev", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local stack (idempotent)")
    up.add_argument(
        "--only",
        help=f"comma-separated subset of: {', '.join(ALL_PROCESSES)}",
        default=os.environ.get("SECURACT_DEV_ONLY"),
    )
    up.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("SECURACT_DEV_UP_TIMEOUT", "90")),
        help="seconds to wait for readiness (default 90)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("SECURACT_DEV_REPLICAS", "1")),
        help="processes per service (ports: base, base+100, ...), sharing its data and keys",
    )
    up.add_argument("--keep-on-failure", action="store_true")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--timeout", type=float, default=20.0)
    down.set_defaults(func=cmd_down)

    clean = sub.add_parser(
        "clean", help="stop the stack, delete var/ and the dev queues: start from scratch"
    )
    clean.set_defaults(func=cmd_clean)

    status = sub.add_parser("status", help="processes, ports and readiness")
    status.set_defaults(func=cmd_status)

    logs = sub.add_parser("logs", help="tail var/log/*.log")
    logs.add_argument("names", nargs="*", help=f"some of: honcho, {', '.join(ALL_PROCESSES)}")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("--no-follow", action="store_true")
    logs.set_defaults(func=cmd_logs)

    trace = sub.add_parser("trace", help="one act's trace tree, from var/spans/")
    trace.add_argument("act_id")
    trace.set_defaults(func=cmd_trace)

    box = sub.add_parser("mailbox", help="run the dev mailbox in the foreground")
    mailbox.build_parser(box)
    box.set_defaults(func=cmd_mailbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
