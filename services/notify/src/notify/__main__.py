"""`securact-notify`: run the notify service."""

from __future__ import annotations

from notify.main import create_app
from notify.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
