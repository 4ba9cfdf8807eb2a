"""`securact-retention run-due`, `securact-retention verify-certificate` and
`securact-retention sweep` (`retention.sweep_cli`: where one person's data is still found).

`run-due` fires everything due now, once, and exits. It refuses to run (exit 1, naming the
path) when retention's store or key directory is not there: it never creates them.
For operators and the dev clock offset (`SECURACT_CLOCK_OFFSET_SECONDS`): it reads retention's
store from the usual settings, fires every pending, unheld schedule due now (earliest first,
the same claim as the service's scheduler, so it is safe while replicas run), issues the
certificates whose confirmations are all in, raises the overdue alerts, prints counts (never
personal data) and exits 0. Events are written to the outbox only: the running service's relay
publishes them to the bus.

`verify-certificate` checks an erasure certificate offline — its JSON twin's signature and
fingerprint and, when given, the PDF's detached signature — against the platform's public keys
(`GET /v1/certificates/keys`, C2SP verifier key strings): no store, no network. Exit 0 when it
verifies, 1 when it does not.

`verify-attestation` checks an outage attestation (CPC 748-7) the same way, with the same keys.

`rotate-kek` and `retire-kek VERSION` move the certificates' wrapped DEKs (files and sealed
download tokens) to a new KEK version and retire an old one (`shared.kek_commands`).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from retention import sweep_cli
from retention.certificate import verify_certificate
from retention.main import audit_client, build_retention
from retention.repository import INDEXES
from retention.settings import Settings
from retention.status.attestation import verify_attestation
from retention.wrapped_keys import WRAPPED_KEYS
from shared.clock import Clock
from shared.crypto import IntegrityError, VerifierKey
from shared.kek_commands import KEK_COMMANDS, add_kek_commands, run_kek_command
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import OutboxRelay
from shared.provisioning import NotProvisionedError, require_key_directories, require_store
from shared.runtime import ServiceRuntime

EXIT_OK = 0
EXIT_ERROR = 1


@dataclass(frozen=True)
class PassSummary:
    fired: int
    claimed_elsewhere: int
    certificates: int
    alerts: int

    def render(self) -> str:
        return (
            f"fired {self.fired} due schedule(s)"
            f" ({self.claimed_elsewhere} already claimed by another replica);"
            f" issued {self.certificates} certificate(s);"
            f" raised {self.alerts} overdue alert(s)."
            " Events are in the outbox: the retention service's relay publishes them.\n"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-retention", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run-due",
        help="fire everything due now once, print counts, exit (publication: the service's "
        "outbox relay, later)",
        description="Fire every schedule due now (catch-up included), issue ready certificates, "
        "raise overdue alerts, print counts. Events go to the outbox; the running service's "
        "relay publishes them.",
    )
    check = commands.add_parser(
        "verify-certificate", help="check an erasure certificate offline (JSON, and its PDF)"
    )
    check.add_argument("--certificate", required=True, type=Path, metavar="JSON")
    check.add_argument("--pdf", type=Path, metavar="PDF", help="the PDF e-mailed with it")
    check.add_argument(
        "--public-key", required=True, action="append", metavar="VKEY", help="repeatable"
    )
    attestation = commands.add_parser(
        "verify-attestation", help="check an outage attestation offline (JSON, and its PDF)"
    )
    attestation.add_argument("--attestation", required=True, type=Path, metavar="JSON")
    attestation.add_argument("--pdf", type=Path, metavar="PDF")
    attestation.add_argument(
        "--public-key", required=True, action="append", metavar="VKEY", help="repeatable"
    )
    add_kek_commands(commands)
    sweep_cli.add_parser(commands)
    return parser


T = TypeVar("T")


def _verified(
    verify: Callable[[bytes, Sequence[VerifierKey], bytes | None], T],
    document: Path,
    pdf: Path | None,
    public_keys: Sequence[str],
    out: TextIO,
) -> T | None:
    """`verify` over the files with the keys given; None once the refusal is written."""
    try:
        trusted = [VerifierKey.from_string(key) for key in public_keys]
    except ValueError as error:
        out.write(f"error: bad public key: {error}\n")
        return None
    try:
        return verify(document.read_bytes(), trusted, pdf.read_bytes() if pdf else None)
    except OSError as error:
        out.write(f"error: {type(error).__name__}: {error.strerror or error}\n")
    except IntegrityError as error:
        out.write(f"NOT VERIFIED: {error}\n")
    return None


def verify_attestation_files(
    attestation: Path, pdf: Path | None, public_keys: Sequence[str], out: TextIO
) -> int:
    """Check an outage attestation; prints the interval and each territory's moved deadline."""
    document = _verified(verify_attestation, attestation, pdf, public_keys, out)
    if document is None:
        return EXIT_ERROR
    out.write(
        f"verified: attestation {document['attestation_id']}"
        f"{' and its PDF' if pdf is not None else ''}, incident {document['incident_id']}"
        f" from {document['started_at']} to {document['ended_at']}\n"
    )
    for entry in document["territories"]:
        out.write(f"  {entry['territory']}: deadlines move to {entry['moved_to']}\n")
    return EXIT_OK


def verify_certificate_files(
    certificate: Path, pdf: Path | None, public_keys: Sequence[str], out: TextIO
) -> int:
    """Check the files; prints what was verified (ids and fingerprints only)."""
    document = _verified(verify_certificate, certificate, pdf, public_keys, out)
    if document is None:
        return EXIT_ERROR
    out.write(
        f"verified: certificate {document['certificate_id']}"
        f"{' and its PDF' if pdf is not None else ''}, {len(document['acts'])} act(s) erased\n"
    )
    return EXIT_OK


async def run_due_once(settings: Settings, clock: Clock | None = None) -> PassSummary:
    """One scheduler pass against the store of `settings`: what the service does each interval."""
    runtime = ServiceRuntime(settings, clock=clock, indexes=INDEXES)
    audit_http = audit_client(settings)
    await runtime.store.connect()
    try:
        await runtime.store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
        retention = build_retention(runtime, settings, audit_http)
        report = await retention.schedules.run_due()
        certificates = await retention.certificates.issue_pending()
        alerts = await retention.erasures.check_overdue()
    finally:
        await audit_http.aclose()
        await runtime.store.close()
        await runtime.http.aclose()
    return PassSummary(report.fired, report.lost_races, certificates, alerts)


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one command; returns the process exit status (what was used goes to `err`)."""
    options = build_parser().parse_args(argv)
    if options.command in KEK_COMMANDS:
        return run_kek_command(options, Settings(), WRAPPED_KEYS, out, err)
    if options.command == "sweep":
        try:
            return asyncio.run(sweep_cli.run_sweep(options, out))
        except (OSError, ValueError, sqlite3.Error) as error:
            out.write(f"error: {type(error).__name__}: {error}\n")
            return EXIT_ERROR
    if options.command == "verify-certificate":
        return verify_certificate_files(options.certificate, options.pdf, options.public_key, out)
    if options.command == "verify-attestation":
        return verify_attestation_files(options.attestation, options.pdf, options.public_key, out)
    if options.command == "run-due":
        try:
            settings = Settings()
            # Never create them here: an empty new store has nothing due, keys made in a new
            # directory would sign certificates no one trusts.
            store_used = require_store(settings)
            keys_used = require_key_directories(
                settings, kek_file=settings.kek_file, signing_key_file=settings.signing_key_file
            )
        except NotProvisionedError as error:
            out.write(f"error: {error}\n")
            return EXIT_ERROR
        err.write(f"store: {store_used}\nkeys: {keys_used}\n")
        try:
            summary = asyncio.run(run_due_once(settings))
        except (OSError, ValueError) as error:
            out.write(f"error: {type(error).__name__}: {error}\n")
            return EXIT_ERROR
        out.write(summary.render())
    return EXIT_OK
