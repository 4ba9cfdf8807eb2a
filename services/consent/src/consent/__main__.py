"""`securact-consent`: run the consent service; `securact-consent rotate-kek | retire-kek
VERSION`: the KEK commands of `consent.cli`."""

from __future__ import annotations

import sys

from consent.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from consent import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    # From its factory: in production, one worker process per core (`shared.serve`).
    serve("consent.main:create_app", settings)


if __name__ == "__main__":
    main()
