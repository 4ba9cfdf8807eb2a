"""`securact-retention`: run the retention service."""

from __future__ import annotations

from retention.main import create_app
from retention.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
