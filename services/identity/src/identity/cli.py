"""`securact-identity` sub-commands: serve (default), create-operator, rotate-token-key,
terms-notices, and `rotate-kek`, `retire-kek VERSION` for the wrapped DEKs of sealed TOTP secrets
and link tokens (`shared.kek_commands`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import timedelta

from identity.errors import IdentityError
from identity.records import INDEXES
from identity.service import Identity
from identity.settings import Settings
from identity.tokens import TokenIssuer, TokenKeyFile
from identity.wrapped_keys import WRAPPED_KEYS
from shared.clock import clock_from_environment
from shared.kek_commands import KEK_COMMANDS, add_kek_commands, run_kek_command
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.provisioning import NotProvisionedError, require_files, require_store
from shared.store import open_store


async def create_operator(settings: Settings, identifier: str, password: str) -> str:
    """Create an operator account in identity's store; its event waits in the outbox for the
    service's relay."""
    clock = clock_from_environment(settings.env, settings.clock_offset_seconds)
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        await store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
        keys = TokenKeyFile(settings.token_key_file, clock)
        issuer = TokenIssuer(
            keys,
            clock,
            issuer=settings.issuer,
            audiences=settings.token_audiences,
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        identity = Identity(store, Outbox(store, clock), clock, settings, issuer)
        return await identity.accounts.create_operator(identifier, password)
    finally:
        await store.close()


async def terms_notices(settings: Settings, version: int) -> str:
    """Per CGU version: accounts notified, notices failed, deemed received, bound now."""
    clock = clock_from_environment(settings.env, settings.clock_offset_seconds)
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        await store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
        keys = TokenKeyFile(settings.token_key_file, clock)
        issuer = TokenIssuer(
            keys,
            clock,
            issuer=settings.issuer,
            audiences=settings.token_audiences,
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        identity = Identity(store, Outbox(store, clock), clock, settings, issuer)
        counts = await identity.terms.notice_counts(version)
    finally:
        await store.close()
    return (
        f"CGU version {counts.version} (effective {counts.effective_at.isoformat()}): "
        f"{counts.notified} notified, {counts.failed} failed, "
        f"{counts.deemed_received} deemed received, {counts.bound} bound, "
        f"{counts.accepted} accepted\n"
    )


def rotate_token_key(settings: Settings) -> str:
    clock = clock_from_environment(settings.env, settings.clock_offset_seconds)
    keys = TokenKeyFile(settings.token_key_file, clock)
    keys.ensure()
    rotated = keys.rotate(
        timedelta(seconds=settings.key_publish_lead_seconds),
        timedelta(seconds=settings.access_token_ttl_seconds),
    )
    newest = rotated.keys[-1]
    return f"{newest.key.key_id} signs from {newest.signs_from.isoformat()}"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="securact-identity")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the identity service (default)")
    operator = commands.add_parser("create-operator", help="create an operator account")
    operator.add_argument("--identifier", required=True)
    operator.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    commands.add_parser(
        "rotate-token-key", help="add a token key, published now, signing after the lead time"
    )
    notices = commands.add_parser(
        "terms-notices", help="a CGU version's notices: notified, deemed received, bound"
    )
    notices.add_argument("--version", type=int, required=True)
    add_kek_commands(commands)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command in KEK_COMMANDS:
        return run_kek_command(args, settings, WRAPPED_KEYS, sys.stdout, sys.stderr)
    if args.command in ("create-operator", "rotate-token-key"):
        # Operator commands never create the store or a key ring (the service does, at its
        # first start): a missing one is the wrong directory or setting.
        try:
            if args.command == "create-operator":
                used = f"store: {require_store(settings)}"
            else:
                keys = require_files(settings, token_key_file=settings.token_key_file)
                used = f"keys: {keys}"
        except NotProvisionedError as error:
            sys.stderr.write(f"error: {error}\n")
            return 2
        sys.stderr.write(f"{used}\n")
    if args.command == "create-operator":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Operator password: ")
        try:
            account_id = asyncio.run(create_operator(settings, args.identifier, password))
        except IdentityError as error:
            sys.stderr.write(f"refused: {error.detail}\n")
            return 1
        sys.stdout.write(f"operator account {account_id} created\n")
        return 0
    if args.command == "terms-notices":
        try:
            sys.stdout.write(asyncio.run(terms_notices(settings, args.version)))
        except IdentityError as error:
            sys.stderr.write(f"refused: {error.detail}\n")
            return 1
        return 0
    if args.command == "rotate-token-key":
        sys.stdout.write(f"new token key {rotate_token_key(settings)}\n")
        return 0
    from identity.main import create_app
    from shared.serve import serve

    serve(create_app(settings), settings)
    return 0
