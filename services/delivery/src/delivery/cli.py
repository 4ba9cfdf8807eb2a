"""`securact-delivery verify-evidence FILE --public-key VKEY`: check a saved evidence set offline.

Needs only the file and the platform's public key (the C2SP verifier key string served at
`GET /v1/evidence/keys`): no network, no database.

A sealed evidence report (`evidence.pdf`) is checked too, with `--seal-roots PEM` (the seal's
CA; in dev, the last certificate of `seal_chain` at `GET /v1/evidence/keys`) and `--tsa-chain
PEM` (the TSA's pinned chain): the seal, the document timestamp, and the attached evidence set
with the public key(s). The first failure is named (`seal`, `document timestamp`, …).

`rotate-kek` and `retire-kek VERSION` move the wrapped DEKs of acts and replies to a new KEK
version and retire an old one (`shared.kek_commands`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TextIO

from cryptography import x509

from delivery.evidence import EvidenceVerificationError, verify_evidence_set
from delivery.seal import ReportVerificationError, verify_report
from delivery.settings import Settings
from delivery.wrapped_keys import WRAPPED_KEYS
from shared.crypto import VerifierKey
from shared.kek_commands import KEK_COMMANDS, add_kek_commands, run_kek_command

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-delivery")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify-evidence", help="verify a saved evidence set offline")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--public-key",
        action="append",
        required=True,
        help="the platform's verifier key string (repeatable)",
    )
    verify.add_argument(
        "--seal-roots", type=Path, help="PEM: the seal's trusted root(s) (for a PDF report)"
    )
    verify.add_argument(
        "--tsa-chain", type=Path, help="PEM: the TSA's pinned chain (for a PDF report)"
    )
    add_kek_commands(commands)
    return parser


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        options = _parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    if options.command in KEK_COMMANDS:
        return run_kek_command(options, Settings(), WRAPPED_KEYS, out, err)
    try:
        keys = [VerifierKey.from_string(k) for k in options.public_key]
    except ValueError as error:
        out.write(f"error: {error}\n")
        return EXIT_USAGE
    try:
        raw = options.file.read_bytes()
    except OSError as error:
        out.write(f"error: cannot read {options.file}: {type(error).__name__}\n")
        return EXIT_USAGE
    if raw.startswith(b"%PDF"):
        return _verify_report(raw, options, keys, out)
    try:
        document = json.loads(raw)
    except ValueError as error:
        out.write(f"error: cannot read {options.file}: {type(error).__name__}\n")
        return EXIT_USAGE
    try:
        if not isinstance(document, dict):
            raise EvidenceVerificationError("not a JSON object")
        types = verify_evidence_set(document, keys)
    except EvidenceVerificationError as error:
        out.write(f"INVALID: {error}\n")
        return EXIT_INVALID
    out.write(
        f"OK: act {document['act_id']} sha256 {document['act_sha256']}: "
        f"{len(types)} evidence record(s): {', '.join(types)}\n"
    )
    return EXIT_OK


def _certificates(path: Path | None, what: str) -> list[x509.Certificate]:
    if path is None:
        raise ValueError(f"a PDF report needs {what}")
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        raise ValueError(f"{path} is not a readable PEM bundle") from None


def _verify_report(
    raw: bytes, options: argparse.Namespace, keys: list[VerifierKey], out: TextIO
) -> int:
    try:
        seal_roots = _certificates(options.seal_roots, "--seal-roots")
        tsa_chain = _certificates(options.tsa_chain, "--tsa-chain")
    except ValueError as error:
        out.write(f"error: {error}\n")
        return EXIT_USAGE
    roots = [c for c in tsa_chain if c.subject == c.issuer]
    others = [c for c in tsa_chain if c.subject != c.issuer]
    try:
        verified = asyncio.run(
            verify_report(
                raw,
                seal_roots=seal_roots,
                tsa_roots=roots,
                tsa_intermediates=others,
                keys=keys,
            )
        )
    except ReportVerificationError as error:
        out.write(f"INVALID: {error}\n")
        return EXIT_INVALID
    out.write(
        f"OK: evidence report of act {verified.evidence['act_id']} sealed by "
        f"{verified.seal_subject}, timestamped {verified.timestamped_at}: "
        f"{len(verified.types)} evidence record(s): {', '.join(verified.types)}\n"
    )
    return EXIT_OK
