"""Enforce DESIGN §8: only shared/src/shared/clock.py reads the wall clock.

Parses every Python file under shared/ and services/ and flags calls of `datetime.now`,
`datetime.utcnow`, `datetime.today`, `date.today` and `time.time`, however they were imported
(`import datetime`, `from datetime import datetime as dt`, `from time import time`, …).
Monotonic timers (`time.monotonic`, `time.perf_counter`) measure durations, not dates: allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "shared", ROOT / "services"]
ALLOWED = {ROOT / "shared" / "src" / "shared" / "clock.py"}

# (module, attribute path) of every forbidden callable.
FORBIDDEN = {
    ("datetime", "datetime.now"),
    ("datetime", "datetime.utcnow"),
    ("datetime", "datetime.today"),
    ("datetime", "date.today"),
    ("time", "time"),
}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def direct_clock_reads(source: str) -> list[int]:
    """Line numbers of wall-clock reads in `source`."""
    tree = ast.parse(source)
    # Local name -> fully qualified name it stands for ("dt" -> "datetime.datetime").
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in {"datetime", "time"}:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    forbidden = {f"{module}.{path}" for module, path in FORBIDDEN}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        resolved = aliases.get(head)
        if resolved is None:
            continue
        qualified = f"{resolved}.{rest}" if rest else resolved
        if qualified in forbidden:
            lines.append(node.lineno)
    return sorted(lines)


def test_detector_finds_every_import_style() -> None:
    source = (
        "import datetime\nimport time as t\nfrom datetime import date, datetime as dt\n"
        "from time import time as now\n"
        "datetime.datetime.now()\ndt.utcnow()\ndate.today()\nt.time()\nnow()\n"
        "dt.now(tz=None)\nt.monotonic()\ndt.fromisoformat('2025-01-01')\n"
    )
    assert direct_clock_reads(source) == [5, 6, 7, 8, 9, 10]


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    offenders = []
    for base in SCANNED:
        for path in sorted(base.rglob("*.py")):
            if path in ALLOWED or ".venv" in path.parts:
                continue
            for line in direct_clock_reads(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], (
        "use shared.clock.Clock instead of reading the wall clock: " + ", ".join(offenders)
    )
