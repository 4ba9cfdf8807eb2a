"""`securact-audit verify`, `verify-receipt` and `verify-timestamp`: the journal's offline checks.

`verify` reads audit's store (from the usual settings) and checks it as `audit.verify` says,
payloads included (decrypted with the KEK file of the settings; `--no-payloads` for the tree
alone, e.g. by a third party without the KEK); exit status 0 when intact, 1 naming the first
broken index and the others, or when the journal holds fewer entries than `--expect-entries`
(default 1: an empty journal is most likely the wrong store; `--allow-empty` accepts it), 2
when the store or a key file is not there (nothing is created). It says on stderr which store
and keys it used, and its progress. `verify-receipt` needs nothing but
a receipt file and the log's public key: no store, no network. `verify-timestamp` checks a
checkpoint's RFC 3161 token (`GET /v1/checkpoints/{size}/timestamp`) against the note and a
pinned TSA chain, naming the failed check: imprint, signature or chain. `rotate-kek` and
`retire-kek VERSION` move the subjects' wrapped DEKs to a new KEK version and retire an old one
(`shared.kek_commands`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from audit.checkpoint import (
    FormatError,
    Receipt,
    log_signed_note,
    open_checkpoint,
    verify_receipt,
)
from audit.records import JOURNAL
from audit.settings import Settings
from audit.vault import PayloadVault
from audit.verify import verify_journal
from audit.wrapped_keys import WRAPPED_KEYS
from shared.clock import SystemClock
from shared.cosignature import CosignerVerifier, verify_cosignatures
from shared.crypto import IntegrityError, KeyRing, VerifierKey
from shared.crypto.backends import kek_source, signing_ring
from shared.kek_commands import KEK_COMMANDS, add_kek_commands, run_kek_command
from shared.provisioning import NotProvisionedError, require_key_files, require_store
from shared.store import open_store
from shared.timestamps import TimestampError, TsaTrust, verify_timestamp

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="rebuild and check the whole journal")
    verify.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="VKEY",
        help="C2SP verifier key of the log (repeatable); default: the signing key file's keys",
    )
    verify.add_argument("--origin", help="expected checkpoint origin (default: from settings)")
    verify.add_argument(
        "--no-payloads",
        action="store_true",
        help="do not decrypt and check payloads (no KEK needed)",
    )
    expected = verify.add_mutually_exclusive_group()
    expected.add_argument(
        "--expect-entries",
        type=int,
        default=1,
        metavar="N",
        help="fail unless the journal holds at least N entries (default 1: an empty journal "
        "is a failure, most likely the wrong store)",
    )
    expected.add_argument(
        "--allow-empty",
        action="store_true",
        help="an empty journal is a success (a platform that journaled nothing yet)",
    )
    receipt = commands.add_parser("verify-receipt", help="check a saved receipt offline")
    receipt.add_argument("--receipt", required=True, type=Path, metavar="FILE")
    receipt.add_argument("--public-key", required=True, action="append", metavar="VKEY")
    receipt.add_argument("--origin", help="require this checkpoint origin")
    receipt.add_argument(
        "--leaf", type=Path, metavar="FILE", help="the leaf, if the receipt does not carry it"
    )
    receipt.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="VKEY",
        help="a witness's cosignature/v1 key (`GET /v1/witnesses`): its cosignature of the "
        "receipt's checkpoint is required (repeatable)",
    )
    receipt.add_argument(
        "--timestamp",
        type=Path,
        metavar="TSR_FILE",
        help="the checkpoint's RFC 3161 token (`GET /v1/checkpoints/{size}/timestamp`, or the "
        "evidence's `checkpoint_timestamp`), checked with --tsa-chain",
    )
    receipt.add_argument("--tsa-chain", type=Path, metavar="PEM_FILE")
    stamp = commands.add_parser(
        "verify-timestamp", help="check a checkpoint's RFC 3161 timestamp against a pinned chain"
    )
    stamp.add_argument("--checkpoint", required=True, type=Path, metavar="NOTE_FILE")
    stamp.add_argument("--token", required=True, type=Path, metavar="TSR_FILE")
    stamp.add_argument("--tsa-chain", required=True, type=Path, metavar="PEM_FILE")
    stamp.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="VKEY",
        help="also check the log's signature (and ignore cosignature lines in the note)",
    )
    add_kek_commands(commands)
    return parser


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one command; returns the process exit status. The verdict goes to `out`; what was
    used (store, keys) and progress to `err`."""
    options = build_parser().parse_args(argv)
    if options.command in KEK_COMMANDS:
        return run_kek_command(options, Settings(), WRAPPED_KEYS, out, err)
    try:
        if options.command == "verify":
            return asyncio.run(_verify(options, out, err))
        if options.command == "verify-timestamp":
            return _verify_timestamp(options, out)
        return _verify_receipt(options, out)
    except NotProvisionedError as error:
        out.write(f"error: {error}\n")
        return EXIT_USAGE
    except (ValueError, OSError) as error:
        out.write(f"error: {error}\n")
        return EXIT_USAGE


class Progress:
    """Entries checked so far: a live bar on a terminal, a line every tenth otherwise (logs)."""

    def __init__(self, total: int, err: TextIO) -> None:
        self.total = max(total, 1)
        self.err = err
        self.reported = 0
        self.bar: RichProgress | None = None
        if err.isatty():
            self.bar = RichProgress(
                TextColumn("verifying journal"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=err),
            )
            self.task = self.bar.add_task("verify", total=total)
            self.bar.start()

    def __call__(self, checked: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=checked)
            return
        tenth = checked * 10 // self.total
        if tenth > self.reported:
            self.reported = tenth
            self.err.write(f"verified {checked}/{self.total} entries ({tenth * 10}%)\n")
            self.err.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


async def _verify(options: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = Settings()
    # Nothing is created: a store or key file that is not there is the wrong configuration.
    store_used = require_store(settings)
    keys = [VerifierKey.from_string(k) for k in options.public_key]
    if keys:
        keys_used = f"{len(keys)} verifier key(s) given with --public-key"
    else:
        keys_used = require_key_files(settings, signing_key_file=settings.signing_key_file)
        ring = signing_ring(settings, settings.checkpoint_origin, SystemClock())
        keys = list(ring.published)
    vault = None
    if not options.no_payloads:
        try:
            keys_used += "; KEK: " + require_key_files(settings, kek_file=settings.kek_file)
        except NotProvisionedError as error:
            out.write(f"error: {error} (or pass --no-payloads)\n")
            return EXIT_USAGE
        clock = SystemClock()
        vault = PayloadVault(KeyRing(kek_source(settings, clock)), clock)
    err.write(f"store: {store_used}\nkeys: {keys_used}\n")
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        total = await store.count(JOURNAL)
        err.write(f"{total} entries to verify\n")
        progress = Progress(total, err)
        try:
            report = await verify_journal(
                store,
                keys,
                origin=options.origin or settings.checkpoint_origin,
                vault=vault,
                progress=progress,
            )
        finally:
            progress.close()
    finally:
        await store.close()
    wanted = 0 if options.allow_empty else options.expect_entries
    if report.entries < wanted:
        out.write(
            f"journal has {report.entries} entries, at least {wanted} expected: wrong store? "
            "(--allow-empty if nothing was journaled yet)\n"
        )
        return EXIT_BROKEN
    first = report.first()
    if first is None:
        checked = (
            "payloads not checked"
            if vault is None
            else f"{report.payloads_checked} payloads checked"
        )
        out.write(
            f"journal intact: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"{checked}\n"
        )
        return EXIT_OK
    out.write(f"journal broken at index {first.index}: {first.reason}\n")
    for finding in sorted(report.findings, key=lambda f: f.index)[1:20]:
        out.write(f"  also at index {finding.index}: {finding.reason}\n")
    return EXIT_BROKEN


def _verify_receipt(options: argparse.Namespace, out: TextIO) -> int:
    keys = [VerifierKey.from_string(k) for k in options.public_key]
    text = options.receipt.read_text(encoding="utf-8")
    leaf = options.leaf.read_bytes() if options.leaf else None
    try:
        verified = verify_receipt(text, keys, origin=options.origin, leaf=leaf)
    except (IntegrityError, FormatError) as error:
        out.write(f"receipt INVALID: {error}\n")
        return EXIT_BROKEN
    checkpoint = verified.checkpoint
    note = Receipt.parse(text).checkpoint_note
    witnesses = [CosignerVerifier.from_string(k) for k in options.witness_key]
    try:
        cosigned = {c.witness.name: c for c in verify_cosignatures(note, witnesses)}
    except IntegrityError as error:
        out.write(f"receipt INVALID (cosignature): {error}\n")
        return EXIT_BROKEN
    absent = [w.name for w in witnesses if w.name not in cosigned]
    if absent:
        out.write(f"receipt INVALID (cosignature): not cosigned by {', '.join(absent)}\n")
        return EXIT_BROKEN
    stamped = None
    if options.timestamp is not None:
        if options.tsa_chain is None:
            raise ValueError("--timestamp needs --tsa-chain (the TSA's pinned chain)")
        try:
            stamped = verify_timestamp(
                options.timestamp.read_bytes(),
                log_signed_note(note, keys).encode("utf-8"),
                TsaTrust.from_file(options.tsa_chain),
            )
        except TimestampError as error:
            out.write(f"receipt INVALID (timestamp, {error.stage}): {error.detail}\n")
            return EXIT_BROKEN
    out.write(
        f"receipt valid: entry {verified.index} is in {checkpoint.origin} "
        f"at size {checkpoint.size} (root {checkpoint.root.hex()})\n"
    )
    if verified.entry is not None:
        out.write(
            f"  event {verified.entry.get('event_id')} {verified.entry.get('type')} "
            f"journaled at {verified.entry.get('journaled_at')}\n"
        )
    for name, cosignature in cosigned.items():
        at = datetime.fromtimestamp(cosignature.timestamp, UTC).isoformat()
        out.write(f"  cosigned by witness {name} at {at}\n")
    if stamped is not None:
        out.write(
            f"  checkpoint timestamped at {stamped.time.isoformat()} by {stamped.tsa}: the "
            "event was journaled before then\n"
        )
    return EXIT_OK


def _verify_timestamp(options: argparse.Namespace, out: TextIO) -> int:
    note = options.checkpoint.read_text(encoding="utf-8")
    trust = TsaTrust.from_file(options.tsa_chain)
    if options.public_key:
        keys = [VerifierKey.from_string(k) for k in options.public_key]
        try:
            open_checkpoint(note, keys)
        except IntegrityError as error:
            out.write(f"timestamp INVALID (checkpoint): {error}\n")
            return EXIT_BROKEN
        note = log_signed_note(note, keys)
    try:
        verified = verify_timestamp(options.token.read_bytes(), note.encode("utf-8"), trust)
    except TimestampError as error:
        out.write(f"timestamp INVALID ({error.stage}): {error.detail}\n")
        return EXIT_BROKEN
    out.write(f"timestamp valid: checkpoint note existed at {verified.time.isoformat()} ")
    out.write(f"(TSA {verified.tsa}, serial {verified.serial_number})\n")
    return EXIT_OK
