"""The streaming multipart reader: same parts whatever the network chunking; malformed bodies
refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.multipart import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MultipartError,
    MultipartReader,
    PartHeaders,
    boundary_of,
)
from tests.unit.consent.support import PDF, PNG, multipart_body


async def chunked(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    position = 0
    for size in sizes:
        if position >= len(data):
            break
        yield data[position : position + size]
        position += size
    if position < len(data):
        yield data[position:]


async def read_all(
    data: bytes, content_type: str, sizes: list[int]
) -> list[tuple[PartHeaders, bytes]]:
    reader = MultipartReader(chunked(data, sizes), boundary_of(content_type))
    parts = []
    while (part := await reader.next_part()) is not None:
        content = bytearray()
        async for chunk in reader.chunks():
            content += chunk
        parts.append((part, bytes(content)))
    return parts


# Content that contains boundary-like text: the reader must only split on the full delimiter.
TRICKY = b"line\r\n--not-the-boundary\r\n--" + PDF + b"\r\n-"


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=40))
async def test_parts_read_the_same_whatever_the_chunking(sizes: list[int]) -> None:
    body, content_type = multipart_body(
        {"a": "é"}, {"one": ("one.bin", TRICKY), "two": ("two.png", PNG)}
    )
    parts = await read_all(body, content_type, sizes)
    assert [(p.name, p.filename) for p, _ in parts] == [
        ("declaration", None),
        ("one", "one.bin"),
        ("two", "two.png"),
    ]
    assert parts[0][1] == b'{"a": "\\u00e9"}'
    assert parts[1][1] == TRICKY
    assert parts[2][1] == PNG


async def test_unread_parts_are_skipped_by_next_part() -> None:
    body, content_type = multipart_body(None, {"one": ("a", PDF), "two": ("b", PNG)})
    reader = MultipartReader(chunked(body, [5]), boundary_of(content_type))
    first = await reader.next_part()
    second = await reader.next_part()
    assert first is not None
    assert second is not None
    assert second.name == "two"
    content = b"".join([c async for c in reader.chunks()])
    assert content == PNG
    assert await reader.next_part() is None


async def test_a_truncated_body_is_refused() -> None:
    body, content_type = multipart_body(None, {"one": ("a", PDF)})
    with pytest.raises(MultipartError, match="truncated"):
        await read_all(body[: len(body) - 30], content_type, [64])


async def test_a_part_without_name_is_refused() -> None:
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    with pytest.raises(MultipartError, match="no name"):
        await read_all(body, "multipart/form-data; boundary=b", [1000])


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "multipart/form-data", "text/plain; boundary=x"]
)
def test_a_body_that_is_not_multipart_form_data_is_refused(content_type: str | None) -> None:
    with pytest.raises(MultipartError):
        boundary_of(content_type)


def test_a_quoted_boundary_is_understood() -> None:
    assert boundary_of('multipart/form-data; boundary="a b:c"') == b"a b:c"


async def test_the_reader_reads_the_body_only_as_fast_as_the_caller_consumes_it() -> None:
    content = bytes(range(256)) * 4096  # 1 MiB
    body, content_type = multipart_body(None, {"big": ("big.bin", content)})
    network_chunk = 64 * 1024
    pulled = 0

    async def network() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(body), network_chunk):
            pulled += 1
            yield body[start : start + network_chunk]

    reader = MultipartReader(network(), boundary_of(content_type))
    assert await reader.next_part() is not None
    received = bytearray()
    async for chunk in reader.chunks():
        # Never more than one network chunk ahead of what was handed out: nothing is held whole.
        assert pulled * network_chunk - len(received) <= 2 * network_chunk
        assert len(chunk) <= network_chunk
        received += chunk
    assert received == content
    assert await reader.next_part() is None


async def test_part_headers_over_the_size_limit_are_refused() -> None:
    long_value = b"x" * (MAX_HEADER_BYTES + 1)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="a"\r\nX-Padding: '
        + long_value
        + b"\r\n\r\nx\r\n--b--\r\n"
    )
    with pytest.raises(MultipartError, match="headers too long"):
        await read_all(body, "multipart/form-data; boundary=b", [1000])


async def test_a_part_with_too_many_headers_is_refused() -> None:
    headers = b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADERS))
    body = b'--b\r\nContent-Disposition: form-data; name="a"\r\n' + headers + b"\r\nx\r\n--b--\r\n"
    with pytest.raises(MultipartError, match="too many part headers"):
        await read_all(body, "multipart/form-data; boundary=b", [7])


async def test_a_part_that_is_not_form_data_is_refused() -> None:
    body = b'--b\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--b--\r\n'
    with pytest.raises(MultipartError, match="form-data"):
        await read_all(body, "multipart/form-data; boundary=b", [1000])


async def test_a_body_that_does_not_start_at_a_boundary_is_refused() -> None:
    body = b'not a boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--\r\n'
    with pytest.raises(MultipartError, match="not well-formed"):
        await read_all(body, "multipart/form-data; boundary=b", [5])


async def test_an_empty_body_is_refused_as_truncated() -> None:
    with pytest.raises(MultipartError, match="truncated"):
        await read_all(b"", "multipart/form-data; boundary=b", [1])


async def test_utf8_file_names_and_quoted_names_are_read_as_sent() -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="pi\\"ece"; filename="re\xcc\x81ponse;1.pdf"'
        b"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n"
    )
    [(part, content)] = await read_all(body, "multipart/form-data; boundary=b", [3])
    assert part == PartHeaders('pi"ece', "re\u0301ponse;1.pdf", "application/pdf")
    assert content == b"%PDF"
