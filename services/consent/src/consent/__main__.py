"""`securact-consent`: run the consent service; `securact-consent rotate-kek | retire-kek
VERSION`: the KEK commands of `consent.cli`."""

from __future__ import annotations

import sys

from consent.main import create_app
from consent.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from consent import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
