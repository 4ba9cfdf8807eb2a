"""`securact-consent rotate-kek` and `retire-kek VERSION`: move the proof documents' wrapped
DEKs to a new KEK version and retire an old one (`shared.kek_commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from consent.settings import Settings
from consent.wrapped_keys import WRAPPED_KEYS
from shared.kek_commands import add_kek_commands, run_kek_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-consent", description=__doc__)
    add_kek_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one command; returns the process exit status."""
    options = build_parser().parse_args(argv)
    return run_kek_command(options, Settings(), WRAPPED_KEYS, out, err)
