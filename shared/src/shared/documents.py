"""Uploaded documents checked while they stream by, one strictness for every service: a PDF is
readable (header, objects, a catalogue, a trailer whose cross-reference offset is right), a JPEG
runs from its SOI to its EOI marker, a PNG from its signature to its IEND chunk. The format is
decided by content, never by a name or a declared type. Inspectors hold a few head bytes and a
small tail, whatever the size, and raise `ContentError` (a problem code, a safe detail).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class ContentProblem(StrEnum):
    """Why a document is not a readable PDF; each is its own problem type."""

    EMPTY = "document-empty"
    NOT_PDF = "document-not-pdf"
    CORRUPTED = "document-corrupted"
    UNSUPPORTED_TYPE = "document-unsupported-type"


class ContentError(ValueError):
    def __init__(self, problem: ContentProblem, detail: str) -> None:
        self.problem = problem
        self.detail = detail
        super().__init__(detail)


PDF_HEADER: Final = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)")
HEADER_WINDOW: Final = 1024  # ISO 32000: readers look for the header in the first 1024 bytes
TRAILER_WINDOW: Final = 2048
_STARTXREF: Final = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF\s*$")
_OBJECT_HEAD: Final = re.compile(rb"(\d{1,10})[ \t\r\n\f\x00]{1,8}(\d{1,5})[ \t\r\n\f\x00]{1,8}$")
_CARRY: Final = 40
MAX_TRACKED_OFFSETS: Final = 100_000


class PdfInspector:
    """Checks a PDF's structure while it streams by, holding only a small head and tail.

    Readable means: a `%PDF-1.x`/`%PDF-2.0` header in the first 1024 bytes, at least one
    indirect object and a document catalogue reference (`/Root`), a trailer that ends with
    `startxref <offset> %%EOF`, and an offset that points at a cross-reference table (`xref`) or
    a cross-reference stream object (`N G obj`) seen in the file. The positions of
    those keywords are collected as the bytes pass (found with `bytes.find`, so the scan runs at
    C speed); past `MAX_TRACKED_OFFSETS` of them the offset check is skipped rather than letting
    a hostile file grow memory.
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = b""
        self._carry = b""
        self._header_at: int | None = None
        self._offsets: set[int] = set()
        self._offsets_complete = True
        self._objects = 0
        self._saw_root = False
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._header_at is None and len(self._head) < HEADER_WINDOW:
            self._head += chunk[: HEADER_WINDOW - len(self._head)]
            found = PDF_HEADER.search(self._head)
            if found is not None:
                self._header_at = found.start()
            elif len(self._head) >= HEADER_WINDOW:
                raise ContentError(ContentProblem.NOT_PDF, "the document is not a PDF")
        self._track(chunk)
        self.size += len(chunk)
        self._tail = (self._tail + chunk)[-TRAILER_WINDOW:]

    def _track(self, chunk: bytes) -> None:
        window = self._carry + chunk
        if not self._saw_root:
            self._saw_root = window.find(b"/Root") >= 0
        if not self._offsets_complete:
            self._carry = window[-_CARRY:]
            return
        base = self.size - len(self._carry)
        for keyword in (b"xref", b"obj"):
            at = window.find(keyword)
            while at >= 0:
                if keyword == b"xref":
                    self._offsets.add(base + at)
                else:
                    head = _OBJECT_HEAD.search(window[max(0, at - 32) : at])
                    if head is not None:
                        self._offsets.add(base + max(0, at - 32) + head.start())
                        self._objects += 1
                at = window.find(keyword, at + 1)
        if len(self._offsets) > MAX_TRACKED_OFFSETS:
            self._offsets_complete = False
            self._offsets.clear()
        self._carry = window[-_CARRY:]

    def finish(self) -> None:
        """Raise `ContentError` unless the whole file was a readable PDF."""
        if self.size == 0:
            raise ContentError(ContentProblem.EMPTY, "the document is empty")
        if self._header_at is None:
            raise ContentError(ContentProblem.NOT_PDF, "the document is not a PDF")
        # The trailer first: a file cut short (the commonest damage) is reported as such.
        trailer = _STARTXREF.search(self._tail)
        if trailer is None:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF has no valid trailer (truncated or damaged)"
            )
        if self._offsets_complete and self._objects == 0:
            raise ContentError(ContentProblem.CORRUPTED, "the PDF holds no object")
        if not self._saw_root:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF has no document catalogue (/Root)"
            )
        offset = int(trailer.group(1)) + self._header_at
        if offset >= self.size:
            raise ContentError(ContentProblem.CORRUPTED, "the PDF's cross-reference is missing")
        if self._offsets_complete and offset not in self._offsets:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF's cross-reference offset is wrong"
            )


class MediaType(StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_PNG_END: Final = b"IEND\xaeB`\x82"
_JPEG_END: Final = b"\xff\xd9"
_SNIFF_BYTES: Final = 8


class DocumentInspector:
    """A document's format decided by its first bytes, never its name: a PDF (then checked by
    `PdfInspector`), a JPEG (SOI marker … EOI marker) or a PNG (signature … IEND chunk)."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._held: list[bytes] = []
        self._tail = b""
        self._pdf = PdfInspector()
        self.media_type: MediaType | None = None
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        self._tail = (self._tail + chunk)[-TRAILER_WINDOW:]
        if self.media_type is None:
            self._head += chunk[: _SNIFF_BYTES - len(self._head)]
            self._held.append(chunk)
            if len(self._head) < _SNIFF_BYTES:
                return
            self._decide()
            held, self._held = self._held, []
            if self.media_type is MediaType.PDF:
                for piece in held:
                    self._pdf.feed(piece)
            return
        if self.media_type is MediaType.PDF:
            self._pdf.feed(chunk)

    def _decide(self) -> None:
        head = bytes(self._head)
        if head.startswith(b"%PDF-"):
            self.media_type = MediaType.PDF
        elif head.startswith(_JPEG_MAGIC):
            self.media_type = MediaType.JPEG
        elif head.startswith(_PNG_MAGIC):
            self.media_type = MediaType.PNG
        else:
            raise ContentError(
                ContentProblem.UNSUPPORTED_TYPE, "the file is neither a PDF, a JPEG nor a PNG"
            )

    def finish(self) -> MediaType:
        """The media type, or `ContentError` unless the whole file was a complete one."""
        if self.size == 0:
            raise ContentError(ContentProblem.EMPTY, "the file is empty")
        if self.media_type is None:
            self._decide()
        if self.media_type is MediaType.PDF:
            self._pdf.finish()
        elif self.media_type is MediaType.JPEG and _JPEG_END not in self._tail[-64:]:
            raise ContentError(ContentProblem.CORRUPTED, "the JPEG is truncated")
        elif self.media_type is MediaType.PNG and _PNG_END not in self._tail[-64:]:
            raise ContentError(ContentProblem.CORRUPTED, "the PNG is truncated")
        assert self.media_type is not None
        return self.media_type
