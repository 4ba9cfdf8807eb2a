"""`rotate-kek` and `retire-kek`: the KEK commands of every service that keeps wrapped DEKs.

    securact-<service> rotate-kek [--rewrap-only]
    securact-<service> retire-kek VERSION

`rotate-kek` creates a new version of the service's KEK (a new key in the token with
`SECURACT_KEYS=pkcs11`, a new entry of the key file otherwise), then rewraps every DEK the
service stores under it (`shared.crypto.rewrap`, the service lists where they are). Run again
after a crash it continues the interrupted rotation instead of creating yet another version;
`--rewrap-only` rewraps to the current version without creating one (the KEK was rotated by
another service sharing it, or DEKs were wrapped under the old version by replicas that had not
seen the rotation yet). `retire-kek VERSION` refuses while any DEK of the service is still wrapped
under that version, then makes the version unable to unwrap.

Both refuse (exit 2, naming the path or token) when the store or the KEK is not there: they
never create a store or a first KEK. They say on stderr which store and keys they use and their
progress; the outcome goes to stdout. Exit 0 when done, 1 when refused or some DEKs failed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any, Final, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from shared.clock import Clock, clock_from_environment
from shared.crypto.backends import kek_source
from shared.crypto.errors import CryptoError
from shared.crypto.keyring import KekSource
from shared.crypto.rewrap import Rewrapper, RewrapReport, WrappedKeys, unfinished_target
from shared.crypto.rewrap import wrapped_under as count_wrapped_under
from shared.provisioning import NotProvisionedError, require_key_files, require_store
from shared.settings import BaseServiceSettings, KeyBackend
from shared.store import open_store
from shared.store.port import StoreError

ROTATE: Final = "rotate-kek"
RETIRE: Final = "retire-kek"
KEK_COMMANDS: Final = frozenset({ROTATE, RETIRE})
EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_NOT_PROVISIONED: Final = 2
_LISTED_FAILURES: Final = 20


def add_kek_commands(commands: Any) -> None:
    """Add both commands to an argparse sub-parsers object."""
    rotate = commands.add_parser(
        ROTATE,
        help="create a new KEK version and rewrap every stored DEK under it (resumable)",
        description="Create a new KEK version and rewrap every DEK this service stores under "
        "it. Run again after a crash, it continues the interrupted rotation.",
    )
    rotate.add_argument(
        "--rewrap-only",
        action="store_true",
        help="rewrap to the current version without creating one",
    )
    retire = commands.add_parser(
        RETIRE,
        help="make a KEK version unable to unwrap (refused while a DEK is still under it)",
    )
    retire.add_argument("version", type=int, metavar="VERSION")


class Progress:
    """Documents walked per collection: a live bar on a terminal, a line every tenth otherwise
    (logs)."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.bar: RichProgress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.reported: dict[str, int] = {}
        if err.isatty():
            self.bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=err),
            )
            self.bar.start()

    def __call__(self, site: WrappedKeys, done: int, total: int) -> None:
        if self.bar is not None:
            if site.name not in self.tasks:
                self.tasks[site.name] = self.bar.add_task(f"rewrapping {site.name}", total=total)
            self.bar.update(self.tasks[site.name], completed=done, total=total)
            return
        tenth = done * 10 // max(total, 1)
        if site.name not in self.reported or tenth > self.reported[site.name]:
            self.reported[site.name] = tenth
            self.err.write(f"{site.name}: {done}/{total} documents walked\n")
            self.err.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_kek_command(
    options: argparse.Namespace,
    settings: BaseServiceSettings,
    sites: Sequence[WrappedKeys],
    out: TextIO,
    err: TextIO,
) -> int:
    """Run `rotate-kek` or `retire-kek` for the service of `settings` whose wrapped DEKs are in
    `sites`; returns the exit status."""
    try:
        store_used = require_store(settings)
        keys_used = require_key_files(settings, kek_file=settings.kek_file)
    except NotProvisionedError as error:
        out.write(f"error: {error}\n")
        return EXIT_NOT_PROVISIONED
    err.write(f"store: {store_used}\nkeys: {keys_used}\n")
    clock = clock_from_environment(settings.env, settings.clock_offset_seconds)
    command = _rotate if options.command == ROTATE else _retire
    try:
        return asyncio.run(command(options, settings, sites, clock, out, err))
    except NotProvisionedError as error:
        out.write(f"error: {error}\n")
        return EXIT_NOT_PROVISIONED
    except (CryptoError, StoreError, OSError) as error:
        # A key file or token that cannot be used, a store that does not answer: named, and
        # nothing half-done is lost (a rotation continues when run again).
        out.write(f"error: {type(error).__name__}: {error}\n")
        return EXIT_REFUSED


async def _existing_source(settings: BaseServiceSettings, clock: Clock) -> KekSource:
    source = kek_source(settings, clock)
    if not await source.versions():
        raise NotProvisionedError(
            f"no KEK {source.key_id!r} in PKCS#11 token {settings.pkcs11_token_label!r} (from "
            f"{settings.env_name('pkcs11_label_prefix')}); the service creates it at its first "
            "start"
        )
    return source


async def _rotate(
    options: argparse.Namespace,
    settings: BaseServiceSettings,
    sites: Sequence[WrappedKeys],
    clock: Clock,
    out: TextIO,
    err: TextIO,
) -> int:
    source = await _existing_source(settings, clock)
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        current = await source.current_version()
        pending = await unfinished_target(store, source.key_id)
        if options.rewrap_only:
            err.write(f"rewrapping to the current version {current} of KEK {source.key_id}\n")
        elif pending == current:
            err.write(f"continuing the interrupted rotation to version {current}\n")
        else:
            current = await source.rotate()
            err.write(f"KEK {source.key_id} rotated: version {current} wraps from now on\n")
        progress = Progress(err)
        try:
            report = await Rewrapper(store, source, sites, clock, progress=progress).run()
        finally:
            progress.close()
    finally:
        await store.close()
    return _rotation_outcome(report, await source.versions(), settings, out)


def _rotation_outcome(
    report: RewrapReport, versions: dict[int, bool], settings: BaseServiceSettings, out: TextIO
) -> int:
    out.write(
        f"{report.rewrapped} DEK(s) rewrapped to {report.kek_id} version "
        f"{report.target_version}, {report.already} already under it, {report.vanished} "
        f"deleted meanwhile ({report.documents} documents walked"
        f"{', continued after an interruption' if report.resumed else ''})\n"
    )
    if report.failed:
        out.write(f"{len(report.failed)} DEK(s) could not be rewrapped:\n")
        for failure in report.failed[:_LISTED_FAILURES]:
            out.write(f"  {failure}\n")
        out.write("run rotate-kek again once they are dealt with; retire-kek refuses meanwhile\n")
        return EXIT_REFUSED
    older = sorted(
        v for v, retired in versions.items() if not retired and v < report.target_version
    )
    if older:
        shared = (
            f" (the key file {settings.kek_file} serves every service configured with it: "
            "each must have rewrapped first)"
            if settings.keys is KeyBackend.FILE
            else ""
        )
        out.write(
            f"versions still able to unwrap: {', '.join(map(str, older))}; once every replica "
            f"wraps under {report.target_version} (a minute), `retire-kek VERSION`{shared}\n"
        )
    return EXIT_OK


async def _retire(
    options: argparse.Namespace,
    settings: BaseServiceSettings,
    sites: Sequence[WrappedKeys],
    clock: Clock,
    out: TextIO,
    err: TextIO,
) -> int:
    version: int = options.version
    source = await _existing_source(settings, clock)
    versions = await source.versions()
    if version not in versions:
        out.write(f"refused: KEK {source.key_id} has no version {version}\n")
        return EXIT_REFUSED
    if versions[version]:
        out.write(f"KEK {source.key_id} version {version} was already retired\n")
        return EXIT_OK
    if version == await source.current_version():
        out.write(f"refused: version {version} is the current one: rotate-kek first\n")
        return EXIT_REFUSED
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        err.write(f"counting the DEKs still wrapped under version {version}\n")
        counts = await count_wrapped_under(store, sites, source.key_id, version)
    finally:
        await store.close()
    left = {name: count for name, count in counts.items() if count}
    if left:
        listed = ", ".join(f"{name}: {count}" for name, count in left.items())
        out.write(
            f"refused: {sum(left.values())} DEK(s) still wrapped under version {version} "
            f"({listed}); run `rotate-kek --rewrap-only` first\n"
        )
        return EXIT_REFUSED
    await source.retire(version)
    out.write(f"KEK {source.key_id} version {version} retired: it unwraps nothing any more\n")
    return EXIT_OK
