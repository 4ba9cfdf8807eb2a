"""`make bench`: run every `bench/*_bench.py`, print a table, write var/bench/results.json.

Each benchmark module has `run() -> dict[str, float]` (it may accept `events`, set by
`--events`). Conventions the runner reads from the module:
- a metric named `*_ok` is a hard budget: anything but 1.0 fails the run (exit status 1);
- `TARGETS = {"metric": (">=", 0.5)}`: goals reported when missed, without failing the run;
- `NEEDS_RABBITMQ = True`: checked up front, exit status 2 with a clear message if unreachable.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import operator
import os
import pkgutil
import platform
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from shared.clock import SystemClock

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR.parent / "var" / "bench" / "results.json"
SUFFIX = "_bench"
AMQP_URL = os.environ.get("SECURACT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}


def available() -> list[str]:
    """Benchmark names (`bus` for bench/bus_bench.py), found without importing them."""
    return sorted(
        info.name.removesuffix(SUFFIX)
        for info in pkgutil.iter_modules([str(BENCH_DIR)])
        if info.name.endswith(SUFFIX)
    )


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}{SUFFIX}")


def _rabbitmq_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 3):
            return True
    except OSError:
        return False


def _run(module: ModuleType, options: dict[str, Any]) -> dict[str, float]:
    """Call `run` with the options it takes (`events`, `quick`, `big_mib`, `profile`,
    `workers`)."""
    run: Callable[..., dict[str, float]] = module.run
    accepted = inspect.signature(run).parameters
    return run(**{k: v for k, v in options.items() if v is not None and k in accepted})


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _table(name: str, results: dict[str, float], seconds: float) -> str:
    width = max((len(key) for key in results), default=0)
    lines = [f"{name} ({seconds:.1f} s)"]
    lines += [f"  {key:<{width}}  {_number(value):>16}" for key, value in results.items()]
    return "\n".join(lines)


def _missed_targets(name: str, module: ModuleType, results: dict[str, float]) -> list[str]:
    targets: dict[str, tuple[str, float]] = getattr(module, "TARGETS", {})
    return [
        f"{name}.{key} = {_number(results[key])} (target {sign} {_number(goal)})"
        for key, (sign, goal) in targets.items()
        if key in results and not COMPARISONS[sign](results[key], goal)
    ]


def _summary(modules: dict[str, ModuleType], report: dict[str, dict[str, float]]) -> str:
    """The headline numbers of every benchmark that declares `SUMMARY` (label, metric,
    baseline metric): each ratio is printed with the baseline it divides by."""
    rows: list[tuple[str, str, str]] = []
    for name, module in modules.items():
        results = report.get(name)
        for label, key, baseline in getattr(module, "SUMMARY", []):
            if results is None or key not in results:
                continue
            beside = ""
            if baseline is not None and baseline in results:
                unit = "MiB/s" if baseline.endswith("_mib_s") else "/s"
                beside = f"(baseline {_number(results[baseline])} {unit})"
            rows.append((f"{name}: {label}", _number(results[key]), beside))
    if not rows:
        return ""
    width = max(len(label) for label, _, _ in rows)
    lines = ["", "SUMMARY (ratios in one run; baselines warmed, measured before and after)"]
    lines += [
        f"  {label:<{width}}  {value:>12}  {beside}".rstrip() for label, value, beside in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", action="append", choices=names, help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--events", type=int, help="events per measurement, for benchmarks that take it (bus)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny counts: checks every benchmark runs end to end (numbers mean nothing)",
    )
    parser.add_argument(
        "--big-mib", type=int, help="size of delivery's big act in MiB (default 200; e.g. 500)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the delivery process during its measured window: top 10 GIL-held frames",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="delivery's HTTP worker processes (default 1; production runs one per core)",
    )
    options = parser.parse_args(argv)
    if options.workers is not None and options.workers < 1:
        parser.error("--workers must be positive")
    if options.events is not None and options.events < 1:
        parser.error("--events must be positive")
    if options.big_mib is not None and options.big_mib < 1:
        parser.error("--big-mib must be positive")
    # No handler of our own: services under test configure logging (shared.telemetry), and a
    # second root handler would print each of their lines twice; until then Python's
    # last-resort handler shows warnings and errors.

    report: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    misses: list[str] = []
    selected: dict[str, ModuleType] = {}
    for name in names:
        if name in (options.only or names):
            try:
                selected[name] = _module(name)
            except Exception as error:
                log.exception("%s benchmark cannot be imported", name)
                failures.append(f"{name}: {type(error).__name__}: {error}")

    needing = [
        name for name, module in selected.items() if getattr(module, "NEEDS_RABBITMQ", False)
    ]
    if needing and not _rabbitmq_reachable(AMQP_URL):
        address = urlsplit(AMQP_URL)
        others = [name for name in selected if name not in needing]
        print(
            f"RabbitMQ is not reachable at {address.hostname}:{address.port or 5672}, and "
            f"{', '.join(needing)} need{'s' if len(needing) == 1 else ''} it: start it "
            "(e.g. `sudo systemctl start rabbitmq-server`) or set SECURACT_AMQP_URL"
            + (f"; or run with {' '.join('--only ' + n for n in others)}." if others else "."),
            file=sys.stderr,
        )
        return 2

    for name, module in selected.items():
        print(f"running {name}…", flush=True)
        start = time.perf_counter()
        try:
            results = _run(
                module,
                {
                    "events": options.events,
                    "quick": options.quick or None,
                    "big_mib": options.big_mib,
                    "profile": options.profile or None,
                    "workers": options.workers,
                },
            )
        except Exception as error:
            # One broken benchmark must not hide the others' results.
            log.exception("%s benchmark failed", name)
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        print(_table(name, results, time.perf_counter() - start), flush=True)
        report[name] = results
        failures += [
            f"{name}.{key} = {_number(value)}"
            for key, value in results.items()
            if key.endswith("_ok") and value != 1.0
        ]
        misses += _missed_targets(name, module, results)

    document: dict[str, Any] = {
        "measured_at": SystemClock().now().isoformat(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "options": {
            "only": options.only,
            "events": options.events,
            "quick": options.quick,
            "big_mib": options.big_mib,
            "profile": options.profile,
            "workers": options.workers,
        },
        "results": report,
        "failed_budgets": failures,
        "missed_targets": misses,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    summary = _summary(selected, report)
    if summary:
        print(summary)
    print(f"results written to {RESULTS}")
    for miss in misses:
        print(f"target missed: {miss}")
    for failure in failures:
        print(f"HARD BUDGET FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
