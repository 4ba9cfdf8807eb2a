"""`securact-audit`: run the audit service; `securact-audit verify|verify-receipt ...`: the
offline checks of `audit.cli`, and its `rotate-kek`, `retire-kek VERSION`."""

from __future__ import annotations

import sys

from audit.main import create_app
from audit.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from audit import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
