"""`securact-delivery`: run the delivery service."""

from __future__ import annotations

from delivery.main import create_app
from delivery.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
