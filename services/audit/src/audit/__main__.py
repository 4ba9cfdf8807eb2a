"""`securact-audit`: run the audit service."""

from __future__ import annotations

from audit.main import create_app
from audit.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
