"""`securact-delivery verify-evidence FILE --public-key VKEY`: check a saved evidence set offline.

Needs only the file and the platform's public key (the C2SP verifier key string served at
`GET /v1/evidence/keys`): no network, no database.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from delivery.evidence import EvidenceVerificationError, verify_evidence_set
from shared.crypto import VerifierKey

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
    return parser


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    try:
        options = _parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        keys = [VerifierKey.from_string(k) for k in options.public_key]
    except ValueError as error:
        out.write(f"error: {error}\n")
        return EXIT_USAGE
    try:
        document = json.loads(options.file.read_bytes())
    except (OSError, ValueError) as error:
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
