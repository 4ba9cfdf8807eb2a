"""`securact-delivery`: run the delivery service; `securact-delivery verify-evidence FILE
--public-key VKEY`, `rotate-kek`, `retire-kek VERSION`: the commands of `delivery.cli`."""

from __future__ import annotations

import sys

from delivery.main import create_app
from delivery.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from delivery import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
