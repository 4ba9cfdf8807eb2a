"""Which `urn:securact:problem:*` types a package can answer, read from its source.

The OpenAPI document lists them (`ProblemType`) so an integrator can switch on `type` without
reading the code. They are collected, not hand-kept, from what raises problems:

- `problem_type("code")` and literal `urn:securact:problem:code` strings;
- a `code = "code"` class attribute (a `Refusal` subclass) or a `code="code"` argument;
- `SomethingError(<4xx/5xx status>, "code", …)` (identity's `IdentityError`).

Codes built at run time (`f"{what}-not-found"`) cannot be read this way; their literal callers
usually can (`not_found("account")` is listed by the route's declared 404).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Final

from shared.problems import PROBLEM_TYPE_PREFIX

_CODE: Final = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _status(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant) and isinstance(node.value, int) and 400 <= node.value < 600
    )


def _codes(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(PROBLEM_TYPE_PREFIX):
                yield node.value.removeprefix(PROBLEM_TYPE_PREFIX)
        elif isinstance(node, ast.Call):
            callee = _name(node.func)
            if callee == "problem_type" and node.args:
                yield from filter(None, [_literal(node.args[0])])
            elif callee.endswith("Error") and len(node.args) >= 2 and _status(node.args[0]):
                yield from filter(None, [_literal(node.args[1])])
            for keyword in node.keywords:
                if keyword.arg == "code":
                    yield from filter(None, [_literal(keyword.value)])
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                targets = (
                    statement.targets
                    if isinstance(statement, ast.Assign)
                    else [statement.target]
                    if isinstance(statement, ast.AnnAssign)
                    else []
                )
                if any(_name(target) == "code" for target in targets):
                    yield from filter(None, [_literal(getattr(statement, "value", None))])


def _source_files(package: str) -> Iterator[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        yield from sorted(Path(location).rglob("*.py"))


@cache
def _package_types(package: str) -> frozenset[str]:
    found: set[str] = set()
    for path in _source_files(package):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.update(code for code in _codes(tree) if _CODE.match(code))
    return frozenset(f"{PROBLEM_TYPE_PREFIX}{code}" for code in found)


def problem_types_of(packages: Iterable[str]) -> frozenset[str]:
    """Every problem type the source of `packages` names (sorted by the caller)."""
    types: set[str] = set()
    for package in packages:
        types |= _package_types(package)
    return frozenset(types)
