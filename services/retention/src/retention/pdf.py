"""A minimal, correct PDF 1.4 writer for text documents (the erasure certificate).

Only what a certificate needs: A4 pages of left-aligned lines in Helvetica (a standard Type 1
font every reader has, so nothing is embedded) with WinAnsiEncoding, which covers French
(é, è, à, ç, œ, «, », …). Lines are wrapped by a width estimate and pages break as they fill. The
cross-reference table gives each object's exact byte offset (ISO 32000-1 §7.5.4), and the
document carries no JavaScript, forms or external references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

PAGE_WIDTH: Final = 595  # A4 in points
PAGE_HEIGHT: Final = 842
MARGIN: Final = 56
# Helvetica's average glyph width is about half the font size: a safe wrap estimate.
AVERAGE_GLYPH_EM: Final = 0.52


class PdfTextError(ValueError):
    """A character outside WinAnsiEncoding: it cannot be shown in Helvetica."""


@dataclass(frozen=True)
class Line:
    """One line of text; `size` in points; `bold` uses Helvetica-Bold."""

    text: str
    size: float = 10.0
    bold: bool = False
    space_before: float = 0.0


def encode_winansi(text: str) -> bytes:
    """`text` in WinAnsiEncoding (Windows-1252 for the printable range), or PdfTextError."""
    # Normalise the typographic spaces French uses to the ones Helvetica has.
    text = text.replace("\u202f", " ").replace("\u00a0", " ")
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError as error:
        raise PdfTextError(f"character {text[error.start]!r} is not in WinAnsiEncoding") from None


def escape_string(raw: bytes) -> bytes:
    """A PDF literal string body: backslash, parentheses and control bytes escaped."""
    out = bytearray()
    for byte in raw:
        if byte in (0x5C, 0x28, 0x29):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out)


def wrap(line: Line, width: float = PAGE_WIDTH - 2 * MARGIN) -> list[Line]:
    """Split a line into lines that fit `width` (by estimate), at spaces where possible."""
    per_line = max(8, int(width / (line.size * AVERAGE_GLYPH_EM)))
    words = line.text.split(" ")
    pieces: list[str] = []
    current = ""
    for whole in words:
        word = whole
        while len(word) > per_line:  # a fingerprint or a signature: cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:per_line])
            word = word[per_line:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= per_line:
            current = candidate
        else:
            pieces.append(current)
            current = word
    pieces.append(current)
    return [
        Line(piece, line.size, line.bold, line.space_before if i == 0 else 0.0)
        for i, piece in enumerate(pieces)
    ]


def _content_streams(lines: Sequence[Line]) -> list[bytes]:
    pages: list[bytes] = []
    ops: list[bytes] = []
    y: float = PAGE_HEIGHT - MARGIN
    for line in (part for original in lines for part in wrap(original)):
        step = line.size * 1.35 + line.space_before
        if y - step < MARGIN and ops:
            pages.append(b"\n".join(ops))
            ops = []
            y = PAGE_HEIGHT - MARGIN
        y -= step
        font = b"/F2" if line.bold else b"/F1"
        ops.append(
            b"BT %s %s Tf 1 0 0 1 %d %s Tm (%s) Tj ET"
            % (font, _num(line.size), MARGIN, _num(y), escape_string(encode_winansi(line.text)))
        )
    pages.append(b"\n".join(ops))
    return pages


def _num(value: float) -> bytes:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.encode("ascii")


def render_pdf(lines: Sequence[Line], *, title: str) -> bytes:
    """A PDF 1.4 document showing `lines` on as many A4 pages as needed."""
    streams = _content_streams(lines)
    # Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info, then per page
    # a page object and its content stream.
    first_page = 6
    kids = [first_page + 2 * i for i in range(len(streams))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % k for k in kids), len(kids)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title (%s) /Producer (SECURACT-NG retention) >>"
        % escape_string(encode_winansi(title)),
    ]
    for index, stream in enumerate(streams):
        content_ref = first_page + 2 * index + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content_ref)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    # The binary comment line tells transfer tools the file is binary (ISO 32000-1 §7.5.2).
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f\r\n"  # each entry is exactly 20 bytes, EOL included
    for offset in offsets:
        out += b"%010d 00000 n\r\n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)
