"""The S3 client under `shared.objects`: minio's, signing no payload when allowed, and a
streaming upload with a bounded number of parts in flight on a persistent pool of threads.

SigV4 signs a request's headers; its body is covered either by its SHA-256 (`x-amz-content-
sha256`, minio's default over plain HTTP: a second pass over every byte) or not at all
(`UNSIGNED-PAYLOAD`, minio's default over TLS, where it hashes an MD5 instead). With
`unsigned_payload`, no hash is computed over a body: TLS protects it in transit, and every
object the platform stores is sealed by its own authenticated encryption, which a reader
verifies whatever the transport did.

An upload is assembled on the event loop into `part_size` parts; each full part goes to the
pool as it is (no copy) while the next is assembled, and the producer is only read further once
fewer than `parts_in_flight` parts are on their way: memory stays near `parts_in_flight` parts
whatever the object size. An object that fits in one part is one PUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Executor
from datetime import datetime
from typing import Any, TypeVar

from minio import Minio, time
from minio.credentials.credentials import Credentials
from minio.datatypes import Part
from minio.helpers import genheaders

_T = TypeVar("_T")
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class S3Client(Minio):
    """minio's client; with `unsigned_payload`, request bodies are neither SHA-256'd nor MD5'd
    (a Content-MD5 a call sets itself, as DeleteObjects does, is kept)."""

    def __init__(self, *args: Any, unsigned_payload: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsigned_payload = unsigned_payload

    def _build_headers(
        self,
        host: str,
        headers: dict[str, Any] | None = None,
        body: bytes | None = None,
        creds: Credentials | None = None,
    ) -> tuple[dict[str, Any], datetime]:
        if not (self._unsigned_payload and creds is not None and body):
            return super()._build_headers(host, headers, body, creds)
        headers = headers or {}
        headers["Host"] = host
        headers["User-Agent"] = self._user_agent
        headers["Content-Length"] = str(len(body))
        headers["x-amz-content-sha256"] = UNSIGNED_PAYLOAD
        if creds.session_token:
            headers["X-Amz-Security-Token"] = creds.session_token
        date = time.utcnow()
        headers["x-amz-date"] = time.to_amz_date(date)
        return headers, date


def in_pool(executor: Executor, call: Callable[[], _T]) -> asyncio.Future[_T]:
    """`call` on the pool, in the caller's context (the trace context of instrumented HTTP)."""
    context = contextvars.copy_context()
    return asyncio.get_running_loop().run_in_executor(executor, context.run, call)


class S3CallError(Exception):
    """An S3 call of an upload failed (`cause`), as opposed to the producer."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


def _s3(call: Callable[[], _T]) -> Callable[[], _T]:
    def run() -> _T:
        try:
            return call()
        except Exception as exc:
            raise S3CallError(exc) from exc

    return run


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background future's outcome as seen: its error is reported elsewhere."""
    if not future.cancelled():
        future.exception()


class _PartUpload:
    """One UploadPart call that lets go of its part before its outcome is known: the loop
    assembles the next part as soon as it learns this one is done."""

    def __init__(
        self, client: S3Client, bucket: str, key: str, upload_id: str, number: int, data: bytearray
    ) -> None:
        self._call = functools.partial(client._upload_part, bucket, key)
        self._upload_id = upload_id
        self._number = number
        self._data: bytearray | None = data

    def __call__(self) -> str:
        data, self._data = self._data, None
        assert data is not None, "a part is sent once"
        return self._call(data, None, self._upload_id, self._number)  # type: ignore[arg-type]


class Upload:
    """One object's upload: `run` feeds it and returns minio's write result (with `.etag`).

    A failure of the producer, of S3 (raised as `S3CallError`) or a cancellation before the last
    byte is handed over aborts a multipart upload (after waiting for its parts in flight) and
    leaves no object; the producer's own exception propagates as is. Once every byte is handed
    over, the upload completes even if the caller is cancelled: the whole object or none, never
    a part.
    """

    def __init__(
        self,
        client: S3Client,
        executor: Executor,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None,
        part_size: int,
        parts_in_flight: int,
    ) -> None:
        self._client = client
        self._executor = executor
        self._bucket = bucket
        self._key = key
        self._headers = genheaders(dict(metadata) if metadata else None, None, None, None, False)
        self._headers["Content-Type"] = content_type
        self._part_size = part_size
        self._parts_in_flight = parts_in_flight
        self._upload_id: str | None = None
        self._in_flight: dict[int, asyncio.Future[str]] = {}
        self._parts: list[Part] = []
        self.size = 0

    async def run(self, chunks: AsyncIterator[bytes]) -> Any:
        # The first part grows with what arrives (a small object stays small); later ones are
        # allocated whole and filled in place: growing one would copy it at each reallocation.
        part = bytearray()
        filled = 0
        number = 0
        try:
            async for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    if filled == self._part_size:
                        # A full part and more to come: it is not the last one.
                        number += 1
                        await self._send_part(number, part)
                        part, filled = bytearray(self._part_size), 0
                    taken = min(self._part_size - filled, len(view))
                    if filled == len(part):
                        part += view[:taken]
                    else:
                        part[filled : filled + taken] = view[:taken]
                    filled += taken
                    view = view[taken:]
        except BaseException:
            await asyncio.shield(self._abandon())
            raise
        del part[filled:]
        if self._upload_id is None:
            self.size = len(part)
            single = in_pool(self._executor, _s3(self._put_whole(part)))
            single.add_done_callback(_retrieve)
            return await asyncio.shield(single)
        finishing = asyncio.ensure_future(self._finish(number + 1, part))
        finishing.add_done_callback(_retrieve)
        return await asyncio.shield(finishing)

    def _put_whole(self, data: bytearray) -> Callable[[], Any]:
        return functools.partial(
            self._client._put_object,
            self._bucket,
            self._key,
            data,  # type: ignore[arg-type]  # any bytes-like body
            dict(self._headers),
        )

    async def _send_part(self, number: int, data: bytearray) -> None:
        """Hand a part to the pool once fewer than `parts_in_flight` are on their way."""
        if self._upload_id is None:
            create = functools.partial(
                self._client._create_multipart_upload, self._bucket, self._key, dict(self._headers)
            )
            self._upload_id = await in_pool(self._executor, _s3(create))
        self.size += len(data)
        upload = _PartUpload(self._client, self._bucket, self._key, self._upload_id, number, data)
        future = in_pool(self._executor, _s3(upload))
        future.add_done_callback(_retrieve)
        self._in_flight[number] = future
        while len(self._in_flight) >= self._parts_in_flight:
            await asyncio.wait(set(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            self._collect()

    def _collect(self) -> None:
        """Record the parts that are done; raise the first failure."""
        for number, future in list(self._in_flight.items()):
            if future.done():
                del self._in_flight[number]
                self._parts.append(Part(number, future.result()))

    async def _finish(self, number: int, last: bytearray) -> Any:
        try:
            await self._send_part(number, last)
            while self._in_flight:
                await asyncio.wait(set(self._in_flight.values()))
                self._collect()
            parts = sorted(self._parts, key=lambda part: part.part_number)
            complete = functools.partial(
                self._client._complete_multipart_upload,
                self._bucket,
                self._key,
                str(self._upload_id),
                parts,
            )
            return await in_pool(self._executor, _s3(complete))
        except BaseException:
            await self._abandon()
            raise

    async def _abandon(self) -> None:
        """Let the parts in flight end, then abort the multipart upload (errors are moot)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight.values()))
            self._in_flight.clear()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            abort = functools.partial(
                self._client._abort_multipart_upload, self._bucket, self._key, upload_id
            )
            with contextlib.suppress(Exception):
                await in_pool(self._executor, _s3(abort))
