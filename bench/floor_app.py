"""The minimal-pipeline floor of delivery's deposit: what any service accepting an encrypted
upload on this stack must pay, and nothing of delivery's own (no token, no store, no events,
no telemetry, no evidence).

`POST /acts` reads the multipart body as a stream with the platform's `MultipartReader`,
encrypts the `document` part with `encrypt_stream` under a fresh DEK and stores it with the
platform's `ObjectStore.put`: the same HTTP server, parser, cipher and S3 adapter delivery uses.
Served by uvicorn in its own process, configured like `shared.serve`:

    python -m bench.floor_app PORT ENDPOINT ACCESS_KEY BUCKET   (secret key on stdin)
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.crypto import DataKey, encrypt_stream
from shared.multipart import MultipartReader, boundary_of
from shared.objects import ObjectStore, ObjectStoreConfig


def create_app(objects: ObjectStore) -> FastAPI:
    app = FastAPI()

    @app.post("/acts", status_code=201)
    async def deposit(request: Request) -> JSONResponse:
        reader = MultipartReader(request.stream(), boundary_of(request.headers["content-type"]))
        size = 0
        while (part := await reader.next_part()) is not None:
            if part.name != "document":
                async for _ in reader.chunks():
                    pass
                continue
            object_id = secrets.token_hex(16)

            async def plaintext() -> AsyncIterator[bytes]:
                async for chunk in reader.chunks():
                    yield chunk

            encrypted = encrypt_stream(plaintext(), DataKey.generate(), object_id)
            await objects.put(f"acts/{object_id}", aiter(encrypted))
            size = encrypted.plaintext_size
        return JSONResponse({"size": size}, status_code=201)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "live"}

    return app


def main(argv: list[str]) -> None:
    port, endpoint, access_key, bucket = argv
    secret_key = sys.stdin.readline().strip()
    objects = ObjectStore(
        ObjectStoreConfig(
            endpoint=endpoint, access_key=access_key, secret_key=secret_key, bucket=bucket
        )
    )
    uvicorn.run(
        create_app(objects),
        host="127.0.0.1",
        port=int(port),
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
