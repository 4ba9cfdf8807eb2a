"""`securact-delivery`: run the delivery service; `securact-delivery verify-evidence FILE
--public-key VKEY`, `rotate-kek`, `retire-kek VERSION`: the commands of `delivery.cli`."""

from __future__ import annotations

import sys

from delivery.settings import Settings
from shared.serve import serve


def main() -> None:
    if len(sys.argv) > 1:
        from delivery import cli

        sys.exit(cli.main(sys.argv[1:]))
    settings = Settings()
    # From its factory: in production, one worker process per core (`shared.serve`).
    serve("delivery.main:create_app", settings)


if __name__ == "__main__":
    main()
