"""`securact-identity`: run the identity service."""

from __future__ import annotations

from identity.main import create_app
from identity.settings import Settings
from shared.serve import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
