"""Run a service's ASGI app with uvicorn on its configured host and port.

Given the import path of the app's factory (`"delivery.main:create_app"`, called without
arguments: the settings come from the environment), uvicorn may run it in several worker
processes sharing the listening socket: `http_workers` of the settings, by default one per
core in production and one elsewhere. Each worker is a replica of the service (its own store
connection, consumers and relay, whose lease lets one publish at a time).
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from shared.settings import BaseServiceSettings, Environment


def worker_count(settings: BaseServiceSettings) -> int:
    """`http_workers`, or when it is 0: the cores this process may use in production, else 1."""
    if settings.http_workers:
        return settings.http_workers
    if settings.env is not Environment.PRODUCTION:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def serve(app: FastAPI | str, settings: BaseServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; the app's lifespan drains the bus and closes the store.

    `app` is the app itself (one process) or its factory's import path (`worker_count`)."""
    workers = 1 if isinstance(app, FastAPI) else worker_count(settings)
    uvicorn.run(
        app,
        factory=isinstance(app, str),
        workers=workers,
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
