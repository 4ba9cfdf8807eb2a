"""`securact-witness`: run a witness, or make its key.

    securact-witness keygen --name witness.example/w1 --key-file w1.key
    securact-witness serve --key-file w1.key --state w1.sqlite \\
        --log 'securact.local/audit+1a2b3c4d+AQ...' [--log ...] [--host 127.0.0.1] [--port 8200]

A `--log` is the log's C2SP verifier key; its name is the origin it signs checkpoints for (as
audit's signing key is named after its checkpoint origin). The key file holds the private key
string and is created 0600; the printed verifier key is what the log and its clients pin.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from shared.cosignature import CosignerKey
from shared.crypto import VerifierKey

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securact-witness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="create a witness key file")
    keygen.add_argument("--name", required=True, help="the witness name (a schema-less URL)")
    keygen.add_argument("--key-file", required=True, type=Path)
    serve = commands.add_parser("serve", help="run the witness HTTP service")
    serve.add_argument("--key-file", required=True, type=Path)
    serve.add_argument("--state", required=True, type=Path, help="SQLite file of its records")
    serve.add_argument("--log", required=True, action="append", metavar="VKEY")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8200)
    return parser


def read_key(path: Path) -> CosignerKey:
    return CosignerKey.from_private_string(path.read_text(encoding="ascii"))


def keygen(name: str, path: Path) -> CosignerKey:
    key = CosignerKey.generate(name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.to_private_string() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        if options.command == "keygen":
            print(keygen(options.name, options.key_file).verifier.to_string())
            return 0
        logs: dict[str, list[VerifierKey]] = defaultdict(list)
        for vkey in options.log:
            log_key = VerifierKey.from_string(vkey)
            logs[log_key.name].append(log_key)
        key = read_key(options.key_file)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    import uvicorn

    from witness.app import WitnessConfig, create_app
    from witness.state import WitnessState

    app = create_app(WitnessConfig(key, dict(logs)), WitnessState(options.state))
    uvicorn.run(app, host=options.host, port=options.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
