"""The streaming multipart reader: same parts whatever the network chunking; malformed bodies
refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.multipart import MultipartError, MultipartReader, PartHeaders, boundary_of
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
