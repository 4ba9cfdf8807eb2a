"""Streaming encryption benchmark: throughput against raw AES-GCM + SHA-256, and peak memory.

`run()` returns:
- `stream_encrypt_hash_mib_s`: our streaming encrypt (with its plaintext SHA-256) in MiB/s;
- `raw_aesgcm_sha256_mib_s`: AES-256-GCM per 64 KiB segment + SHA-256 over the same bytes;
- `stream_vs_raw_ratio`: the first divided by the second (1.0 = no overhead);
- `rss_peak_above_baseline_mib`: peak RSS above the process baseline while encrypting a 1 GiB
  stream in a fresh subprocess (budget: under 64 MiB);
- `rss_budget_ok`: 1.0 when within budget, else 0.0.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto.streaming import DataKey, encrypt_stream

MIB = 1024 * 1024
THROUGHPUT_BYTES = 256 * MIB
RSS_STREAM_BYTES = 1024 * MIB
RSS_BUDGET_MIB = 64.0
CHUNK = 64 * 1024


def _source_block() -> bytes:
    return os.urandom(MIB)


async def _chunks(block: bytes, total: int) -> AsyncIterator[bytes]:
    view = memoryview(block)
    sent = 0
    while sent < total:
        offset = sent % len(block)
        size = min(CHUNK, total - sent, len(block) - offset)
        yield bytes(view[offset : offset + size])
        sent += size


async def _stream_encrypt(block: bytes, total: int) -> int:
    stream = encrypt_stream(_chunks(block, total), DataKey.generate(), "bench-object")
    produced = 0
    async for piece in stream:
        produced += len(piece)
    stream.plaintext_sha256  # noqa: B018 - the digest is part of the measured work
    return produced


async def _raw_encrypt(block: bytes, total: int) -> int:
    cipher = AESGCM(os.urandom(32))
    digest = hashlib.sha256()
    nonce = os.urandom(12)
    produced = 0
    # The floor: one AES-GCM call per input chunk plus the hash, with no framing or buffering.
    # (A fixed nonce is fine here only because the output is thrown away.)
    async for chunk in _chunks(block, total):
        digest.update(chunk)
        produced += len(cipher.encrypt(nonce, chunk, None))
    digest.digest()
    return produced


def _mib_per_second(seconds: float, total: int) -> float:
    return total / MIB / seconds


def _throughput() -> dict[str, float]:
    block = _source_block()
    asyncio.run(_stream_encrypt(block, 8 * MIB))  # warm-up
    best_stream = best_raw = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        asyncio.run(_stream_encrypt(block, THROUGHPUT_BYTES))
        best_stream = min(best_stream, time.perf_counter() - start)
        start = time.perf_counter()
        asyncio.run(_raw_encrypt(block, THROUGHPUT_BYTES))
        best_raw = min(best_raw, time.perf_counter() - start)
    stream = _mib_per_second(best_stream, THROUGHPUT_BYTES)
    raw = _mib_per_second(best_raw, THROUGHPUT_BYTES)
    return {
        "stream_encrypt_hash_mib_s": stream,
        "raw_aesgcm_sha256_mib_s": raw,
        "stream_vs_raw_ratio": stream / raw,
    }


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _rss_child() -> dict[str, float]:
    """Runs in a fresh interpreter: baseline after imports and warm-up, then 1 GiB."""
    block = _source_block()
    asyncio.run(_stream_encrypt(block, 4 * MIB))
    # Reset the high-water mark so start-up peaks do not hide the stream's own.
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")
    baseline = _status_kib("VmRSS")
    start = time.perf_counter()
    produced = asyncio.run(_stream_encrypt(block, RSS_STREAM_BYTES))
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {
        "rss_baseline_mib": baseline / 1024,
        "rss_peak_above_baseline_mib": max(0, peak - baseline) / 1024,
        "gib_stream_seconds": seconds,
        "gib_ciphertext_bytes": float(produced),
    }


def _rss() -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--rss-child"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    measured: dict[str, float] = json.loads(result.stdout)
    above = measured["rss_peak_above_baseline_mib"]
    measured["rss_budget_ok"] = 1.0 if above < RSS_BUDGET_MIB else 0.0
    return measured


def run() -> dict[str, float]:
    """Measure throughput (in process) and peak memory on a 1 GiB stream (subprocess)."""
    return {**_throughput(), **_rss()}


if __name__ == "__main__":
    if sys.argv[1:] == ["--rss-child"]:
        print(json.dumps(_rss_child()))
    else:
        print(json.dumps(run(), indent=2))
