"""`securact-notify`: run the notify service; `securact-notify rotate-kek | retire-kek
VERSION`: the KEK commands of `notify.cli`."""

from __future__ import annotations

import sys

from notify.main import create_app
from notify.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from notify import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
