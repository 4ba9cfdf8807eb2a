"""`securact-identity [serve | create-operator | rotate-token-key]`."""

from __future__ import annotations

import sys

from identity.cli import run


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
