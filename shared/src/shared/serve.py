"""Run a service's ASGI app with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.settings import BaseServiceSettings


def serve(app: FastAPI, settings: BaseServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; the app's lifespan drains the bus and closes the store."""
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        # Our JSON logging is configured by the runtime; uvicorn must not replace it. Access
        # lines are left to traces: URLs may carry identifiers we do not want in log files.
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
