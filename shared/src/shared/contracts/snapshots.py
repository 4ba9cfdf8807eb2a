"""Committed JSON-Schema snapshots of every contract, and the compatibility rule they enforce.

A published version may only grow optional fields. Removing or changing a field, or making a new
field required, is a breaking change: publish `<fact>.v<N+1>` alongside instead.

    python -m shared.contracts.snapshots --write   # add new snapshots, refresh compatible ones
    python -m shared.contracts.snapshots           # check only (exit 1 on a breaking change)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts import registered
from shared.contracts.envelope import Envelope
from shared.jsondoc import JsonObject

SNAPSHOT_DIR = Path(__file__).parent / "schemas"
ENVELOPE_SNAPSHOT = "envelope"

Schema = JsonObject


def current_schemas() -> dict[str, Schema]:
    """The JSON Schema of the envelope and of every registered contract, by snapshot name."""
    schemas: dict[str, Schema] = {ENVELOPE_SNAPSHOT: Envelope.model_json_schema()}
    for key, cls in registered().items():
        schemas[key] = cls.model_json_schema()
    return schemas


def breaking_changes(old: Schema, new: Schema, where: str = "") -> list[str]:
    """Why `new` cannot replace `old` under the same version (empty when compatible)."""
    problems: list[str] = []
    old_props: JsonObject = old.get("properties", {})
    new_props: JsonObject = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
        elif _strip_docs(new_props[name]) != _strip_docs(old_prop):
            problems.append(f"{where}{name}: changed")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{where}{name}: now required")
    for name, old_def in old.get("$defs", {}).items():
        new_def = new.get("$defs", {}).get(name)
        if new_def is None:
            problems.append(f"{where}$defs.{name}: removed")
        else:
            problems.extend(breaking_changes(old_def, new_def, f"{where}$defs.{name}."))
            if "enum" in old_def and not set(old_def["enum"]) <= set(new_def.get("enum", [])):
                problems.append(f"{where}$defs.{name}: enum values removed")
    return problems


def _strip_docs(schema: Any) -> Any:
    # Titles and descriptions are documentation: rewording them breaks nobody.
    if isinstance(schema, dict):
        return {k: _strip_docs(v) for k, v in schema.items() if k not in {"title", "description"}}
    if isinstance(schema, list):
        return [_strip_docs(v) for v in schema]
    return schema


def snapshot_path(name: str, directory: Path = SNAPSHOT_DIR) -> Path:
    return directory / f"{name}.json"


def load_snapshot(name: str, directory: Path = SNAPSHOT_DIR) -> Schema | None:
    path = snapshot_path(name, directory)
    return json.loads(path.read_text()) if path.exists() else None


def _dump(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check(directory: Path = SNAPSHOT_DIR) -> tuple[list[str], list[str]]:
    """(breaking changes, contracts without a snapshot)."""
    breaking: list[str] = []
    missing: list[str] = []
    for name, schema in current_schemas().items():
        old = load_snapshot(name, directory)
        if old is None:
            missing.append(name)
        else:
            breaking.extend(f"{name}: {p}" for p in breaking_changes(old, schema))
    return breaking, missing


def write(directory: Path = SNAPSHOT_DIR) -> list[str]:
    """Write snapshots of new contracts and refresh compatible ones; never a breaking one."""
    breaking, _ = check(directory)
    if breaking:
        raise ValueError("breaking changes: " + "; ".join(breaking))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = snapshot_path(name, directory)
        text = _dump(schema)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write new/compatible snapshots")
    args = parser.parse_args(argv)
    if args.write:
        try:
            written = write()
        except ValueError as error:
            sys.stderr.write(f"{error}\n")
            return 1
        sys.stdout.write("".join(f"wrote {name}\n" for name in written) or "up to date\n")
        return 0
    breaking, missing = check()
    for line in breaking:
        sys.stderr.write(f"breaking: {line}\n")
    for name in missing:
        sys.stderr.write(f"no snapshot: {name} (run make schemas)\n")
    return 1 if breaking or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
