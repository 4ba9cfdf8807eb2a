"""`securact-retention`: run the retention service; `securact-retention run-due`: fire what is
due now once; `verify-certificate`, `rotate-kek`, `retire-kek VERSION` (see `retention.cli`)."""

from __future__ import annotations

import sys

from retention.main import create_app
from retention.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from retention import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
