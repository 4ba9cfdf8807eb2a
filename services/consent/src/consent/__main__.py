"""`securact-consent`: run the consent service."""

from __future__ import annotations

from consent.main import create_app
from consent.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
