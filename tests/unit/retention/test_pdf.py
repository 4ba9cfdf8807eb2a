"""The PDF writer: a well-formed PDF 1.4 whose cross-reference table points at every object."""

from __future__ import annotations

import re

import pytest

from retention.pdf import Line, PdfTextError, encode_winansi, escape_string, render_pdf


def parse_back(pdf: bytes) -> dict[int, bytes]:
    """Check the trailer, startxref and every xref offset; return the objects by number."""
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:].startswith(b"xref\n")
    header = re.match(rb"xref\n0 (\d+)\n", pdf[startxref:])
    assert header is not None
    count = int(header.group(1))
    table = pdf[startxref + header.end() :]
    entries = [table[i * 20 : (i + 1) * 20] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f\r\n"
    objects: dict[int, bytes] = {}
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) == 20
        assert entry.endswith(b" 00000 n\r\n")
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number), f"object {number} misplaced"
        end = pdf.index(b"\nendobj\n", offset)
        objects[number] = pdf[offset:end]
    trailer = table[count * 20 :]
    assert trailer.startswith(b"trailer\n<< /Size %d /Root 1 0 R" % count)
    return objects


def test_pdf_starts_with_its_version_and_every_xref_offset_is_exact() -> None:
    lines = [Line("Certificat d'effacement", 16, bold=True)] + [
        Line(f"Ligne {i} : acte signifié le 4 mars 2031 à 9 h 05") for i in range(120)
    ]
    pdf = render_pdf(lines, title="Certificat")
    objects = parse_back(pdf)
    pages = [o for o in objects.values() if b"/Type /Page " in o]
    assert len(pages) >= 2  # 120 lines do not fit one A4 page
    kids = re.search(rb"/Count (\d+)", objects[2])
    assert kids is not None
    assert int(kids.group(1)) == len(pages)


def test_stream_lengths_match_their_content() -> None:
    objects = parse_back(render_pdf([Line("Bonjour")], title="t"))
    for body in objects.values():
        match = re.search(rb"<< /Length (\d+) >>\nstream\n", body)
        if match:
            content = body[match.end() :]
            assert content.endswith(b"\nendstream")
            assert len(content) - len(b"\nendstream") == int(match.group(1))


def test_french_accents_are_written_in_winansi() -> None:
    pdf = render_pdf([Line("Échéance : effacé « à » ça, œuvre")], title="t")
    assert "Échéance : effacé « à » ça, œuvre".encode("cp1252") in pdf
    assert b"/Encoding /WinAnsiEncoding" in pdf


def test_parentheses_and_backslashes_are_escaped() -> None:
    assert escape_string(b"a(b)c\\d") == b"a\\(b\\)c\\\\d"
    pdf = render_pdf([Line("acte (copie) \\ fin")], title="t")
    assert b"(acte \\(copie\\) \\\\ fin) Tj" in pdf


def test_characters_outside_winansi_are_refused() -> None:
    with pytest.raises(PdfTextError):
        encode_winansi("\u4e2d")


def test_long_words_are_cut_to_fit_the_page() -> None:
    digest = "a" * 200
    pdf = render_pdf([Line(f"Empreinte : {digest}", 9)], title="t")
    shown = b"".join(re.findall(rb"\(([a ]+)\) Tj", pdf)).replace(b" ", b"")
    assert shown.count(b"a") == 200
