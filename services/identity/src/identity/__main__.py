"""`securact-identity [serve | create-operator | rotate-token-key | terms-notices | rotate-kek |
retire-kek]`."""

from __future__ import annotations

import sys

from identity.cli import run


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
