"""Async object store over S3 (DESIGN §5): the `minio` SDK, run on a pool of worker threads.

The SDK is synchronous, so every call runs on the store's own pool (persistent threads reusing
pooled connections). Objects are streamed both ways and never held whole in memory: a put is
assembled into parts on the event loop and sends a few of them at a time (`shared.s3_upload`),
so memory is about `parts_in_flight` parts whatever the object size; a get hands out the HTTP
body in reads of `DEFAULT_READ_SIZE` (one thread hop each).

Errors reach callers as three typed exceptions (`ObjectNotFoundError`,
`ObjectStoreUnavailableError`, and their base `ObjectStoreError`) whose messages name the
endpoint, bucket, key and S3 error code, never a credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import urllib3
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from shared.s3_upload import S3CallError, S3Client, Upload, in_pool
from shared.settings import ObjectStoreSettings

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

MIN_PART_SIZE: Final = 5 * 1024 * 1024
"""S3's smallest multipart part (except the last): also the default, to keep memory low."""
MAX_PART_SIZE: Final = 5 * 1024 * 1024 * 1024
DEFAULT_READ_SIZE: Final = 512 * 1024
"""Bytes asked of the socket per thread hop when reading an object: few hops, and a consumer
holding one chunk while the next is read still holds about a mebibyte."""
DEFAULT_PARTS_IN_FLIGHT: Final = 2
"""Parts uploading at once (one more is assembled meanwhile): with 5 MiB parts, a put holds
about 15 MiB."""

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
    parts_in_flight: int = DEFAULT_PARTS_IN_FLIGHT
    # See `shared.s3_upload`: bodies are not hashed for SigV4 (the platform's objects are
    # sealed by its own AEAD); False signs their SHA-256 over plain HTTP (minio's default).
    unsigned_payload: bool = True

    def __post_init__(self) -> None:
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be within [{MIN_PART_SIZE}, {MAX_PART_SIZE}]")
        if not 1 <= self.parts_in_flight <= self.max_connections:
            raise ValueError("parts_in_flight must be within [1, max_connections]")
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


class ObjectStream:
    """An object's body as an async iterator of chunks.

    The HTTP connection is released when the body is exhausted, on error, or on `aclose()`;
    use it as `async with` (or call `aclose()`) when a consumer may stop early.
    """

    def __init__(
        self,
        response: urllib3.BaseHTTPResponse,
        where: _Where,
        chunk_size: int,
        executor: Executor | None = None,
    ) -> None:
        self._response: urllib3.BaseHTTPResponse | None = response
        self._where = where
        self._chunk_size = chunk_size
        self._executor = executor
        self._pending: asyncio.Future[bytes] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        response = self._response
        if response is None:
            raise StopAsyncIteration
        # Not decoded (objects are stored as sent): urllib3 then hands the socket's bytes
        # over as they are instead of copying them through its decoding buffer.
        self._pending = asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(response.read, self._chunk_size, False)
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
        self._pool: ThreadPoolExecutor | None = None
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
                parts_in_flight=settings.s3_parts_in_flight,
                unsigned_payload=settings.s3_unsigned_payload,
            )
        )

    @property
    def bucket(self) -> str:
        return self._config.bucket

    @property
    def part_size(self) -> int:
        return self._config.part_size

    def _make_client(self, *, connect: float, read: float, retries: int) -> S3Client:
        config = self._config
        return S3Client(
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
            unsigned_payload=config.unsigned_payload,
        )

    def _executor(self) -> ThreadPoolExecutor:
        """The store's threads: as many as pooled connections, kept for the process's life."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self._config.max_connections, thread_name_prefix=f"s3-{self.bucket}"
            )
        return self._pool

    async def _call(self, call: Callable[..., _T], *args: Any) -> _T:
        return await in_pool(self._executor(), functools.partial(call, *args))

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

        Memory stays near `parts_in_flight` parts (`part_size`) whatever the size. If `chunks`
        raises or the caller is cancelled, the upload is aborted, no object is created and a
        previous object under the same key is left untouched; the producer's exception
        propagates as is.
        """
        upload = Upload(
            self._client,
            self._executor(),
            self.bucket,
            key,
            content_type=content_type,
            metadata=metadata,
            part_size=self.part_size,
            parts_in_flight=self._config.parts_in_flight,
        )
        try:
            written = await upload.run(chunks)
        except S3CallError as failure:
            raise self._where(key).map_error(failure.cause, "put") from failure.cause
        return PutResult(key=key, size=upload.size, etag=written.etag or "")

    async def get(self, key: str, *, chunk_size: int = DEFAULT_READ_SIZE) -> ObjectStream:
        """Open `key` for streaming; raise `ObjectNotFoundError` now if it does not exist."""
        where = self._where(key)
        try:
            response = await self._call(self._client.get_object, self.bucket, key)
        except Exception as exc:
            raise where.map_error(exc, "get") from exc
        return ObjectStream(response, where, chunk_size, self._executor())

    async def stat(self, key: str) -> ObjectInfo:
        """Size, etag, content type and user metadata of `key`."""
        try:
            stat = await self._call(self._client.stat_object, self.bucket, key)
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
            await self._call(self._client.remove_object, self.bucket, key)
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
        executor, self._pool = self._pool, None
        if executor is not None:
            executor.shutdown(wait=False)
