"""Async object store over S3 (DESIGN §5): the `minio` SDK, run in worker threads.

The SDK is synchronous, so every call runs in a thread. Objects are streamed both ways and never
held whole in memory: a put bridges the caller's async chunk producer to minio's blocking
`put_object(length=-1)` through a small bounded buffer, so memory is about three multipart
parts (the part being sent, the next one being assembled, and its copy) whatever the object
size; a get hands out the HTTP body chunk by chunk.

Errors reach callers as three typed exceptions (`ObjectNotFoundError`,
`ObjectStoreUnavailableError`, and their base `ObjectStoreError`) whose messages name the
endpoint, bucket, key and S3 error code, never a credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, Final, Self, TypeVar, cast

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from shared.settings import ObjectStoreSettings

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

MIN_PART_SIZE: Final = 5 * 1024 * 1024
"""S3's smallest multipart part (except the last): also the default, to keep memory low."""
MAX_PART_SIZE: Final = 5 * 1024 * 1024 * 1024
DEFAULT_CHUNK_SIZE: Final = 64 * 1024

_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion", "NoSuchBucket"})
# Codes meaning the store cannot serve us at all (credentials, clock skew, throttling, outage):
# retrying later or fixing configuration helps, the request itself is fine.
_UNAVAILABLE_CODES: Final = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "RequestTimeTooSkewed",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
    }
)
_RETRY_STATUSES: Final = (500, 502, 503, 504)


class ObjectStoreError(Exception):
    """An object store operation failed; the message is safe to log (no credentials)."""


class ObjectNotFoundError(ObjectStoreError):
    """The object (or its bucket) does not exist."""


class ObjectStoreUnavailableError(ObjectStoreError):
    """The store cannot be reached or refuses to serve us (network, outage, credentials)."""


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about an object, without its content."""

    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime | None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PutResult:
    """The outcome of a completed put: the stored size is counted while streaming."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ObjectStoreConfig:
    """Where the store is and how patient to be with it."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    secure: bool = False
    region: str = "us-east-1"
    part_size: int = MIN_PART_SIZE
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 3
    ping_timeout: float = 2.0
    max_connections: int = 10

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be within [{MIN_PART_SIZE}, {MAX_PART_SIZE}]")
        if not self.bucket:
            raise ValueError("an object store needs a bucket name")


def _http_client(
    *, connect: float, read: float, retries: int, max_connections: int
) -> urllib3.PoolManager:
    """A connection pool with our timeouts: minio's default waits 5 minutes per attempt."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect, read=read),
        maxsize=max_connections,
        retries=urllib3.Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=_RETRY_STATUSES,
            # A streamed body cannot be replayed, so never resend a request whose body left.
            allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),
            raise_on_status=False,
        ),
        cert_reqs="CERT_REQUIRED",
    )


class _StreamBridge:
    """A bounded byte pipe from the event loop (writer) to minio's worker thread (reader).

    The writer awaits while the buffer is full; the reader blocks until it has the bytes it asked
    for. Either side can break the pipe: the reader then raises `_ProducerAbortedError` inside
    minio, which aborts the multipart upload; the writer raises `_ReaderGoneError`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._capacity = capacity
        self._cond = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._aborted = False
        self._reader_gone = False
        self._space = asyncio.Event()
        self.bytes_read = 0

    # Event-loop side.

    async def feed(self, chunk: bytes) -> None:
        while True:
            with self._cond:
                if self._reader_gone:
                    raise _ReaderGoneError
                if self._buffered < self._capacity:
                    self._chunks.append(chunk)
                    self._buffered += len(chunk)
                    self._cond.notify_all()
                    return
                # Cleared under the lock: a reader that drains after this schedules a `set`
                # that runs after the clear, so the wake-up cannot be lost.
                self._space.clear()
            await self._space.wait()

    def finish(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._chunks.clear()
            self._buffered = 0
            self._cond.notify_all()

    def reader_finished(self) -> None:
        with self._cond:
            self._reader_gone = True
            self._chunks.clear()
            self._buffered = 0
        self._space.set()

    # Worker-thread side: the file-like object minio reads.

    def read(self, size: int = -1) -> bytes:
        """Block until `size` bytes or end of stream, like a buffered file's read."""
        wanted = size if size >= 0 else None
        parts: list[bytes] = []
        got = 0
        with self._cond:
            while wanted is None or got < wanted:
                while not self._chunks and not self._eof and not self._aborted:
                    self._cond.wait()
                if self._aborted:
                    raise _ProducerAbortedError
                if not self._chunks:
                    break
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if wanted is not None and got + len(chunk) > wanted:
                    cut = wanted - got
                    self._chunks.appendleft(chunk[cut:])
                    self._buffered += len(chunk) - cut
                    chunk = chunk[:cut]
                parts.append(chunk)
                got += len(chunk)
                self._loop.call_soon_threadsafe(self._space.set)
        self.bytes_read += got
        return b"".join(parts)


class _ProducerAbortedError(Exception):
    """Raised inside minio's thread when the async producer failed or was cancelled."""


class _ReaderGoneError(Exception):
    """Raised on the event loop when minio stopped reading (the upload failed)."""


class ObjectStream:
    """An object's body as an async iterator of chunks.

    The HTTP connection is released when the body is exhausted, on error, or on `aclose()`;
    use it as `async with` (or call `aclose()`) when a consumer may stop early.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, where: _Where, chunk_size: int) -> None:
        self._response: urllib3.BaseHTTPResponse | None = response
        self._where = where
        self._chunk_size = chunk_size
        self._pending: asyncio.Future[bytes] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        response = self._response
        if response is None:
            raise StopAsyncIteration
        self._pending = asyncio.get_running_loop().run_in_executor(
            None, response.read, self._chunk_size
        )
        try:
            # Shielded: a cancelled consumer must not orphan a thread still reading the socket.
            chunk = await asyncio.shield(self._pending)
        except asyncio.CancelledError:
            self._close()
            raise
        except Exception as exc:
            self._close()
            raise self._where.map_error(exc, "read") from exc
        self._pending = None
        if not chunk:
            self._close()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Stop reading and give the connection back (closed: an unread body is not reused)."""
        self._close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            # A worker thread is still reading this socket: close it once that read returns
            # rather than pulling the socket from under it.
            pending.add_done_callback(lambda fut: _release(response, fut))
        else:
            _release(response, None)

    def __del__(self) -> None:
        # Last resort for a consumer that abandoned the stream without closing it.
        if self._response is not None and (self._pending is None or self._pending.done()):
            _release(self._response, None)


def _in_own_thread(
    loop: asyncio.AbstractEventLoop, call: Callable[[], _T], name: str
) -> asyncio.Future[_T]:
    """Run a call that blocks for as long as a producer takes in a thread of its own.

    A streaming put waits on the caller's producer; in the loop's default executor (a handful
    of threads) a few slow uploads would starve every other `to_thread` user, and a producer
    that itself reads from the store would deadlock.
    """
    future: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()  # keeps the trace context for instrumented HTTP

    def settle(outcome: _T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(_T, outcome))

    def run() -> None:
        outcome: _T | None = None
        error: BaseException | None = None
        try:
            outcome = context.run(call)
        except BaseException as exc:
            error = exc
        # The loop may be gone if the process is shutting down: nobody awaits the result then.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a background future's outcome as seen: its error is reported elsewhere."""
    if not fut.cancelled():
        fut.exception()


def _release(response: urllib3.BaseHTTPResponse, fut: asyncio.Future[bytes] | None) -> None:
    if fut is not None and not fut.cancelled():
        fut.exception()  # retrieved so asyncio does not warn about it
    response.close()
    response.release_conn()


@dataclass(frozen=True)
class _Where:
    """Context for error messages: never carries credentials."""

    endpoint: str
    bucket: str
    key: str | None = None

    def map_error(self, exc: BaseException, action: str) -> ObjectStoreError:
        target = f"{self.bucket}/{self.key}" if self.key is not None else self.bucket
        if isinstance(exc, S3Error):
            code = exc.code or "unknown"
            message = f"object store refused {action} of {target} at {self.endpoint}: {code}"
            if code in _NOT_FOUND_CODES:
                return ObjectNotFoundError(f"{target} not found ({code})")
            if code in _UNAVAILABLE_CODES:
                return ObjectStoreUnavailableError(message)
            return ObjectStoreError(message)
        if isinstance(exc, ServerError | InvalidResponseError):
            return ObjectStoreUnavailableError(
                f"object store at {self.endpoint} failed {action} of {target}: {type(exc).__name__}"
            )
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            return ObjectStoreUnavailableError(
                f"object store at {self.endpoint} unreachable during {action} of {target}: "
                f"{type(exc).__name__}"
            )
        if isinstance(exc, MinioException | ValueError):
            return ObjectStoreError(f"{action} of {target} failed: {type(exc).__name__}")
        return ObjectStoreError(f"{action} of {target} failed unexpectedly: {type(exc).__name__}")


class ObjectStore:
    """One bucket of an S3 store, with async streaming operations."""

    def __init__(self, config: ObjectStoreConfig) -> None:
        self._config = config
        self._client = self._make_client(
            connect=config.connect_timeout, read=config.read_timeout, retries=config.retries
        )
        # Readiness probes must answer fast: no retries, short timeouts.
        self._probe = self._make_client(
            connect=config.ping_timeout, read=config.ping_timeout, retries=0
        )

    @classmethod
    def from_settings(
        cls,
        settings: ObjectStoreSettings,
        bucket: str | None = None,
        *,
        part_size: int = MIN_PART_SIZE,
    ) -> ObjectStore:
        """A store for a service's settings; `bucket` defaults to `settings.s3_bucket`."""
        return cls(
            ObjectStoreConfig(
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key.get_secret_value(),
                secret_key=settings.s3_secret_key.get_secret_value(),
                bucket=bucket or settings.s3_bucket,
                secure=settings.s3_secure,
                region=settings.s3_region,
                part_size=part_size,
            )
        )

    @property
    def bucket(self) -> str:
        return self._config.bucket

    @property
    def part_size(self) -> int:
        return self._config.part_size

    def _make_client(self, *, connect: float, read: float, retries: int) -> Minio:
        config = self._config
        return Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            # A fixed region spares a GetBucketLocation round trip before each first call.
            region=config.region,
            http_client=_http_client(
                connect=connect,
                read=read,
                retries=retries,
                max_connections=config.max_connections,
            ),
        )

    def _where(self, key: str | None = None) -> _Where:
        return _Where(endpoint=self._config.endpoint, bucket=self._config.bucket, key=key)

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (safe to race with another process)."""
        where = self._where()
        try:
            if await asyncio.to_thread(self._client.bucket_exists, self.bucket):
                return
            await asyncio.to_thread(self._client.make_bucket, self.bucket, self._config.region)
            logger.info("created bucket %s", self.bucket)
        except S3Error as exc:
            if exc.code in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                return
            raise where.map_error(exc, "bucket creation") from exc
        except Exception as exc:
            raise where.map_error(exc, "bucket creation") from exc

    async def ping(self) -> None:
        """Readiness: raise `ObjectStoreUnavailableError` unless the bucket answers quickly."""
        where = self._where()
        try:
            exists = await asyncio.to_thread(self._probe.bucket_exists, self.bucket)
        except Exception as exc:
            error = where.map_error(exc, "ping")
            if isinstance(error, ObjectStoreUnavailableError):
                raise error from exc
            raise ObjectStoreUnavailableError(str(error)) from exc
        if not exists:
            raise ObjectStoreUnavailableError(f"bucket {self.bucket} does not exist")

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> PutResult:
        """Store a stream of unknown length under `key`, replacing any previous object.

        Memory stays near three parts (`part_size`) whatever the size. If `chunks` raises or the
        caller is cancelled, the upload is aborted, no object is created and a previous object
        under the same key is left untouched; the producer's exception propagates as is.
        """
        loop = asyncio.get_running_loop()
        bridge = _StreamBridge(loop, capacity=max(self.part_size // 4, DEFAULT_CHUNK_SIZE))
        upload = _in_own_thread(
            loop,
            functools.partial(
                self._client.put_object,
                self.bucket,
                key,
                cast(BinaryIO, bridge),  # minio only calls read(n)
                -1,
                content_type=content_type,
                metadata=dict(metadata) if metadata else None,
                part_size=self.part_size,
                # One part in flight: parallel uploads would multiply memory by their count.
                num_parallel_uploads=1,
            ),
            name=f"s3-put-{self.bucket}",
        )
        upload.add_done_callback(lambda _: bridge.reader_finished())
        upload.add_done_callback(_retrieve)
        try:
            async for chunk in chunks:
                if chunk:
                    await bridge.feed(bytes(chunk))
        except _ReaderGoneError:
            pass  # the upload failed: its own error is raised below
        except BaseException:
            bridge.abort()
            # Wait for minio to abort the multipart upload so the caller sees a clean store.
            await asyncio.wait({upload})
            raise
        else:
            bridge.finish()
        try:
            # Shielded: once every byte is handed over the upload completes in its thread anyway,
            # so a cancelled caller leaves either no object or the whole one, never a part.
            written = await asyncio.shield(upload)
        except Exception as exc:
            raise self._where(key).map_error(exc, "put") from exc
        return PutResult(key=key, size=bridge.bytes_read, etag=written.etag or "")

    async def get(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ObjectStream:
        """Open `key` for streaming; raise `ObjectNotFoundError` now if it does not exist."""
        where = self._where(key)
        try:
            response = await asyncio.to_thread(self._client.get_object, self.bucket, key)
        except Exception as exc:
            raise where.map_error(exc, "get") from exc
        return ObjectStream(response, where, chunk_size)

    async def stat(self, key: str) -> ObjectInfo:
        """Size, etag, content type and user metadata of `key`."""
        try:
            stat = await asyncio.to_thread(self._client.stat_object, self.bucket, key)
        except Exception as exc:
            raise self._where(key).map_error(exc, "stat") from exc
        prefix = "x-amz-meta-"
        metadata = {
            name[len(prefix) :]: value
            for name, value in (stat.metadata or {}).items()
            if name.lower().startswith(prefix)
        }
        return ObjectInfo(
            key=key,
            size=int(stat.size or 0),
            etag=stat.etag or "",
            content_type=stat.content_type or "application/octet-stream",
            last_modified=stat.last_modified,
            metadata=metadata,
        )

    async def exists(self, key: str) -> bool:
        """Whether `key` exists."""
        try:
            await self.stat(key)
        except ObjectNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing object succeeds (idempotent)."""
        try:
            await asyncio.to_thread(self._client.remove_object, self.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                return
            raise self._where(key).map_error(exc, "delete") from exc
        except Exception as exc:
            raise self._where(key).map_error(exc, "delete") from exc

    async def close(self) -> None:
        """Drop pooled connections."""
        for client in (self._client, self._probe):
            pool = getattr(client, "_http", None)
            if isinstance(pool, urllib3.PoolManager):
                with contextlib.suppress(Exception):
                    pool.clear()
