"""`securact-notify rotate-kek` and `retire-kek VERSION`: move the webhook secrets' wrapped
DEKs to a new KEK version and retire an old one (`shared.kek_commands`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from notify.settings import Settings
from notify.wrapped_keys import WRAPPED_KEYS
from shared.kek_commands import add_kek_commands, run_kek_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="securact-notify", description=__doc__)
    add_kek_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one command; returns the process exit status."""
    options = build_parser().parse_args(argv)
    return run_kek_command(options, Settings(), WRAPPED_KEYS, out, err)
