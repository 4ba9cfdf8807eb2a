"""The delivery gateway's pure rules: what an act's metadata may say, what a readable PDF looks
like, which consent may carry an act, the CPC 664 window, and the CPC 662-1 quality of service.

No I/O here: the use cases (wired in `delivery.service`) feed these functions what they read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.contracts.consent import ActNature, DeclarationStatus
from shared.contracts.delivery import (
    JudgeLeaveOrder,
    RejectionReason,
    ServiceQuality,
    WindowClosure,
)
from shared.legal_calendar import (
    ServiceZones,
    Territory,
    first_statutory_jour_ouvrable_after,
    governing_territories,
    legal_date,
    next_window_opening,
    same_legal_day,
    window_closures,
)

# -- metadata ---------------------------------------------------------------------------------


def _printable(value: str) -> str:
    """Refuse control characters (other than none at all): they have no place in a title or a
    name and would corrupt logs, letters and headers."""
    cleaned = value.strip()
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in cleaned):
        raise ValueError("control or unassigned characters are not allowed")
    if not cleaned:
        raise ValueError("must not be blank")
    return cleaned


Text = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_printable)]
Reference = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]


class ActMetadata(BaseModel):
    """The JSON `metadata` part of `POST /v1/acts`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    declaration_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
    nature: ActNature
    title: Text
    requester_name: Text = Field(description="the requérant (CPC 662-1 lettre simple)")
    office_reference: Reference
    schedule_if_closed: bool = False
    """Accept the act when it cannot be served now (CPC 664's window closed, the recipient's
    account suspended) and serve it as soon as it can be."""
    judge_leave: JudgeLeaveOrder | None = None
    """The order behind a `judge_leave` file (required with one): its date and author."""

    def fingerprint_fields(self) -> dict[str, Any]:
        """The metadata as it counts for idempotency (canonical JSON types)."""
        return self.model_dump(mode="json")


def safe_filename(name: str | None) -> str | None:
    """A client's file name reduced to something harmless to store and show: its last path
    segment, without control characters, at most 200 characters. Never used as a path."""
    if name is None:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".")
    return base[:200] or None


# -- content ----------------------------------------------------------------------------------


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
        if self._offsets_complete and self._objects == 0:
            raise ContentError(ContentProblem.CORRUPTED, "the PDF holds no object")
        if not self._saw_root:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF has no document catalogue (/Root)"
            )
        trailer = _STARTXREF.search(self._tail)
        if trailer is None:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF has no valid trailer (truncated or damaged)"
            )
        offset = int(trailer.group(1)) + self._header_at
        if offset >= self.size:
            raise ContentError(ContentProblem.CORRUPTED, "the PDF's cross-reference is missing")
        if self._offsets_complete and offset not in self._offsets:
            raise ContentError(
                ContentProblem.CORRUPTED, "the PDF's cross-reference offset is wrong"
            )


class ReplyMediaType(StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_PNG_END: Final = b"IEND\xaeB`\x82"
_JPEG_END: Final = b"\xff\xd9"
_SNIFF_BYTES: Final = 8


class ReplyInspector:
    """A reply's format decided by its first bytes, never its name: a PDF (then checked as
    strictly as an act, by `PdfInspector`), a JPEG (SOI marker … EOI marker) or a PNG
    (signature … IEND chunk). Holds a few head bytes and a small tail, whatever the size."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._held: list[bytes] = []
        self._tail = b""
        self._pdf = PdfInspector()
        self.media_type: ReplyMediaType | None = None
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
            if self.media_type is ReplyMediaType.PDF:
                for piece in held:
                    self._pdf.feed(piece)
            return
        if self.media_type is ReplyMediaType.PDF:
            self._pdf.feed(chunk)

    def _decide(self) -> None:
        head = bytes(self._head)
        if head.startswith(b"%PDF-"):
            self.media_type = ReplyMediaType.PDF
        elif head.startswith(_JPEG_MAGIC):
            self.media_type = ReplyMediaType.JPEG
        elif head.startswith(_PNG_MAGIC):
            self.media_type = ReplyMediaType.PNG
        else:
            raise ContentError(
                ContentProblem.UNSUPPORTED_TYPE, "a reply is a PDF, a JPEG or a PNG file"
            )

    def finish(self) -> ReplyMediaType:
        """The media type, or `ContentError` unless the whole file was a complete one."""
        if self.size == 0:
            raise ContentError(ContentProblem.EMPTY, "the file is empty")
        if self.media_type is None:
            self._decide()
        if self.media_type is ReplyMediaType.PDF:
            self._pdf.finish()
        elif self.media_type is ReplyMediaType.JPEG and _JPEG_END not in self._tail[-64:]:
            raise ContentError(ContentProblem.CORRUPTED, "the JPEG is truncated")
        elif self.media_type is ReplyMediaType.PNG and _PNG_END not in self._tail[-64:]:
            raise ContentError(ContentProblem.CORRUPTED, "the PNG is truncated")
        assert self.media_type is not None
        return self.media_type


# -- consent ----------------------------------------------------------------------------------


class ConsentProblem(StrEnum):
    UNKNOWN = "consent-unknown"
    NOT_ACTIVE = "consent-not-active"
    OUT_OF_SCOPE = "consent-out-of-scope"
    EXPIRED = "consent-expired"


@dataclass(frozen=True)
class ConsentRefusal:
    problem: ConsentProblem
    detail: str

    def reason(self) -> RejectionReason:
        return RejectionReason(code=self.problem.value.replace("-", "_"), detail=self.detail)


class Declaration(BaseModel):
    """Delivery's view of a consent declaration (kept by `delivery.parties` from consent's and
    identity's events, which may arrive in any order: any member may still be missing)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    status: str | None = None
    email: str | None = None
    mobile: str | None = None
    account_id: str | None = None
    scope: tuple[str, ...] = ()
    valid_until: date | None = None
    territory: Territory | None = None

    @property
    def recipient(self) -> tuple[str, str, Territory]:
        """The account, e-mail and territory of a declaration `check_consent` accepted."""
        assert self.account_id
        assert self.email
        assert self.territory is not None
        return self.account_id, self.email, self.territory


def check_consent(
    declaration: Declaration | None, nature: ActNature, instant: datetime
) -> ConsentRefusal | None:
    """R-consent: an act is served only on an active consent covering its nature and valid at
    the sending instant (its last day in the territory's legal time). None when it may."""
    if declaration is None:
        return ConsentRefusal(ConsentProblem.UNKNOWN, "no consent is known for this declaration")
    if declaration.status != DeclarationStatus.ACTIVE.value or not declaration.account_id:
        return ConsentRefusal(
            ConsentProblem.NOT_ACTIVE, f"the consent is {declaration.status or 'not active'}"
        )
    if not declaration.email:
        # Activated before its registration reached us: the notice could not be sent.
        return ConsentRefusal(ConsentProblem.NOT_ACTIVE, "the consent is not fully known yet")
    if nature.value not in declaration.scope:
        return ConsentRefusal(
            ConsentProblem.OUT_OF_SCOPE, f"the consent does not cover acts of nature {nature}"
        )
    if declaration.valid_until is not None:
        # An active declaration always has its territory (activation brings both).
        assert declaration.territory is not None
        if legal_date(instant, declaration.territory) > declaration.valid_until:
            return ConsentRefusal(ConsentProblem.EXPIRED, "the consent's duration is over")
    return None


# -- window -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowCheck:
    """CPC 664 at one instant for a recipient and an office."""

    closures: tuple[WindowClosure, ...]
    next_opening: datetime

    @property
    def open(self) -> bool:
        return not self.closures


def check_window(
    instant: datetime,
    recipient: Territory,
    office: Territory,
    policy: ServiceZones = ServiceZones.RECIPIENT_AND_OFFICE,
) -> WindowCheck:
    """Whether `instant` lies in the service window of every governing territory, and when the
    common window next opens (`instant` itself when open)."""
    zones = governing_territories(recipient, office, policy)
    closures = tuple(
        WindowClosure(
            territory=c.territory.value, reason=c.reason.value, local_time=c.local_time.isoformat()
        )
        for c in window_closures(instant, sorted(zones))
    )
    return WindowCheck(closures, next_window_opening(instant, zones))


# -- quality of service ----------------------------------------------------------------------


@dataclass(frozen=True)
class QualityDecision:
    quality: ServiceQuality
    lettre_simple_due_on: date | None


def determine_quality(
    served_at: datetime,
    handed_over_at: datetime | None,
    territory: Territory,
    office_territory: Territory,
) -> QualityDecision:
    """CPC 662-1: *à personne* iff the recipient took cognisance on the sending day (legal
    time of the recipient's `territory`), else *à domicile* with a lettre simple due the first
    *jour ouvrable* after the sending day. The letter is the office's to post: its due date is
    counted in the office's legal time on its territory's statutory holidays (a customary day
    of the recipient, such as Mi-Carême, closes CPC 664's window but does not delay it)."""
    if handed_over_at is not None and same_legal_day(served_at, handed_over_at, territory):
        return QualityDecision(ServiceQuality.A_PERSONNE, None)
    due = first_statutory_jour_ouvrable_after(
        legal_date(served_at, office_territory), office_territory
    )
    return QualityDecision(ServiceQuality.A_DOMICILE, due)
