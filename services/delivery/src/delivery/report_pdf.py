"""The evidence report of an act: a French PDF a judge can read, written from the act and its
signed evidence set (fpdf2), the set itself attached as `preuves.json`.

The report states only what the evidence and the act record: the act (nature, requester,
office, SHA-256), the consent relied on, the legal date and hour of service (CPC 664-1) in the
recipient's legal time and in UTC, the notices sent (CPC 748-3), the cognisance (CPC 663) and
the resulting quality (CPC 662-1), the lettre simple, each with the index of its audit receipt.
It is sealed afterwards (`delivery.seal`); this module writes the unsigned document.

Fonts: DejaVu (embedded, as PDF/A wants) when installed, else the PDF core fonts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from delivery.acts import Act, StoredAct
from delivery.domain import Declaration
from delivery.report_wording import (
    CHANNELS,
    EVIDENCE_LABELS,
    NATURES,
    QUALITIES,
    STATUSES,
    french_date,
    from_utc,
    legal_instant,
    receipt_line,
    utc_instant,
)
from shared.contracts.consent import ActNature
from shared.legal_calendar import Territory
from shared.store.port import from_iso

ATTACHMENT_NAME: Final = "preuves.json"
_FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class SealIdentity:
    """Who seals the report (printed in it; the signature itself is `delivery.seal`'s)."""

    subject: str
    issuer: str
    serial: str
    tsa_url: str


class _Report(FPDF):
    def __init__(self, act_id: str) -> None:
        super().__init__(format="A4")
        self.act_id = act_id
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=20)
        if (_FONT_DIR / "DejaVuSans.ttf").exists():
            self.add_font("body", "", str(_FONT_DIR / "DejaVuSans.ttf"))
            self.add_font("body", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.add_font("body", "I", str(_FONT_DIR / "DejaVuSans-Oblique.ttf"))
            self.add_font("mono", "", str(_FONT_DIR / "DejaVuSansMono.ttf"))
            self.family, self.mono = "body", "mono"
        else:
            self.family, self.mono = "helvetica", "courier"
        self.sections = 0

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family, "I", 8)
        self.set_text_color(90)
        self.cell(
            0,
            6,
            f"Rapport de preuve — acte {self.act_id} — page {self.page_no()}/{{nb}}",
            align="C",
        )
        self.set_text_color(0)

    def section(self, title: str, *, keep: float = 30) -> None:
        """A numbered heading, on a new page when less than `keep` mm would follow it."""
        self.sections += 1
        title = f"{self.sections}. {title}"
        if self.get_y() + keep > self.h - self.b_margin:
            self.add_page()
        self.ln(3)
        self.set_font(self.family, "B", 11.5)
        self.set_fill_color(230, 234, 242)
        self.cell(0, 7.5, f" {title}", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def field(self, label: str, value: str, *, mono: bool = False) -> None:
        self.set_font(self.family, "B", 9.5)
        x = self.l_margin
        width = self.w - self.l_margin - self.r_margin
        value_font = (self.mono if mono else self.family, "", 8.5 if mono else 9.5)
        self.set_font(*value_font)
        lines = self.multi_cell(width - 52, 5, value, dry_run=True, output="LINES")
        assert isinstance(lines, list)  # output="LINES" gives the lines
        # The field whole on one page: a break inside it would leave `top` on the page before.
        if self.get_y() + 5 * len(lines) > self.h - self.b_margin:
            self.add_page()
        self.set_font(self.family, "B", 9.5)
        self.set_x(x)
        top = self.get_y()
        self.multi_cell(52, 5, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_font(*value_font)
        self.multi_cell(width - 52, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(self.get_y(), top + 5) + 0.8)

    def paragraph(self, text: str, *, size: float = 9.5, italic: bool = False) -> None:
        self.set_font(self.family, "I" if italic else "", size)
        self.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.8)


def _records(evidence_set: Mapping[str, Any], *types: str) -> list[Mapping[str, Any]]:
    return [r for r in evidence_set.get("evidence", []) if r.get("type") in types]


def _instant(record: Mapping[str, Any]) -> datetime:
    return from_iso(str(record["instant"]))


def render_report(
    act: StoredAct,
    declaration: Declaration | None,
    evidence_set: Mapping[str, Any],
    evidence_json: bytes,
    seal: SealIdentity,
    verifier_keys: Sequence[str],
) -> bytes:
    """The unsigned report (PDF bytes), `evidence_json` attached as `preuves.json`."""
    full = act if isinstance(act, Act) else None
    territory = full.recipient_territory if full else Territory.METROPOLE
    generated = from_iso(str(evidence_set["generated_at"]))
    pdf = _Report(act.id)
    pdf.set_title(f"Rapport de preuve de la signification électronique de l'acte {act.id}")
    pdf.set_author("SECURACT-NG")
    pdf.set_subject("Preuve de signification électronique (CPC 662-1, 663, 664-1, 748-3)")
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(generated)
    pdf.add_page()

    pdf.set_font(pdf.family, "B", 16)
    pdf.multi_cell(
        0,
        8,
        "Rapport de preuve de signification électronique",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(pdf.family, "", 9.5)
    pdf.multi_cell(
        0,
        5,
        f"Acte n° {act.id} — rapport établi {legal_instant(generated, territory)}, soit "
        f"{utc_instant(generated)}, par la plateforme SECURACT-NG, à partir des preuves "
        "signées de l'acte jointes à ce document.",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    pdf.section("L'acte")
    if full is not None:
        pdf.field("Nature", NATURES.get(full.nature, full.nature.value))
        pdf.field("Intitulé", full.title)
        pdf.field("Requérant", full.requester_name)
        pdf.field("Étude", f"{full.office_name} (identifiant {full.office_id})")
        pdf.field("Référence de l'étude", full.office_reference)
    else:
        pdf.paragraph(
            "Le contenu et les données personnelles de cet acte ont été effacés à la demande "
            "du destinataire ; subsistent son empreinte, ses dates et sa qualité.",
            italic=True,
        )
        pdf.field("Étude (identifiant)", act.office_id)
    pdf.field("Empreinte SHA-256", act.sha256, mono=True)
    pdf.field("Taille", f"{act.size:,} octets".replace(",", " "))
    pdf.field("Déposé", f"{utc_instant(act.submitted_at)}")

    pdf.section("Le consentement invoqué (CPC 662-1)")
    if full is not None:
        pdf.field("Déclaration", full.declaration_id, mono=True)
        if declaration is not None:
            scope = ", ".join(NATURES.get(ActNature(s), s) for s in declaration.scope)
            pdf.field("Portée", scope or "non connue")
            if declaration.valid_until is not None:
                pdf.field("Valable jusqu'au", french_date(declaration.valid_until))
            status = declaration.status or ""
            pdf.field("État actuel", STATUSES.get(status, status or "non connu"))
        if full.served_at is not None:
            pdf.field(
                "État à l'envoi",
                "active et couvrant la nature de l'acte à l'instant de la mise à disposition "
                "(contrôle préalable de la plateforme, sans lequel l'acte n'est pas signifié)",
            )
    else:
        pdf.paragraph("Non conservé après l'effacement.", italic=True)

    pdf.section("Date et heure légales de la signification (CPC 664-1)")
    consigned = _records(evidence_set, "ContentConsignment")
    if consigned:
        record = consigned[0]
        when = _instant(record)
        pdf.field("Mise à disposition", legal_instant(when, territory))
        pdf.field("En temps universel", utc_instant(when))
        pdf.field("Reçu", receipt_line(record, territory))
    else:
        pdf.paragraph("L'acte n'a pas été mis à disposition du destinataire.", italic=True)

    pdf.section("Avis adressés au destinataire (CPC 748-3)")
    notices = _records(evidence_set, "ConsignmentNotification", "ConsignmentNotificationFailure")
    if not notices:
        pdf.paragraph("Aucun avis enregistré à la date du rapport.", italic=True)
    for number, record in enumerate(notices, 1):
        details = record.get("details", {})
        sent = record["type"] == "ConsignmentNotification"
        channel = CHANNELS.get(str(details.get("channel")), str(details.get("channel")))
        outcome = "envoyé" if sent else f"échec ({details.get('reason', 'raison non connue')})"
        pdf.field(
            f"Avis n° {number}",
            f"{channel} à {details.get('recipient_masked', '?')} : {outcome}, "
            f"{legal_instant(_instant(record), territory)} ({utc_instant(_instant(record))}) ; "
            f"{receipt_line(record, territory)}",
        )

    pdf.section("Prise de connaissance (CPC 663) et qualité (CPC 662-1)")
    handed = _records(evidence_set, "ContentHandover")
    if handed:
        when = _instant(handed[0])
        pdf.field("Prise de connaissance", legal_instant(when, territory))
        pdf.field("En temps universel", utc_instant(when))
        pdf.field("Reçu", receipt_line(handed[0], territory))
    else:
        pdf.field("Prise de connaissance", "aucune enregistrée à la date du rapport")
    determined = _records(evidence_set, "ServiceQualityDetermination")
    if determined:
        quality = str(determined[0].get("details", {}).get("quality"))
        pdf.field("Qualité", f"signification {QUALITIES.get(quality, quality)}")
        pdf.field("Déterminée", f"{utc_instant(_instant(determined[0]))}")
        pdf.field("Reçu", receipt_line(determined[0], territory))
    else:
        pdf.field(
            "Qualité",
            "non encore déterminée (elle l'est à la fin du jour de l'envoi, en heure légale "
            "du destinataire)",
        )

    tasks = _records(evidence_set, "LettreSimpleTaskIssued")
    posted = _records(evidence_set, "RelayToNonERDS")
    if tasks or posted:
        pdf.section("Lettre simple (CPC 662-1, signification à domicile)")
        for record in tasks:
            due = str(record.get("details", {}).get("lettre_simple_due_on", "?"))
            pdf.field(
                "Demandée à l'étude",
                f"{utc_instant(_instant(record))}, à poster au plus tard le "
                f"{french_date(date.fromisoformat(due)) if due != '?' else due} ; "
                f"{receipt_line(record, territory)}",
            )
        for record in posted:
            details = record.get("details", {})
            tracking = details.get("tracking_reference") or "sans numéro de suivi"
            pdf.field(
                "Déclarée postée",
                f"le {french_date(date.fromisoformat(str(details['posted_on'])))} ({tracking}), "
                f"déclaration enregistrée {utc_instant(_instant(record))} ; "
                f"{receipt_line(record, territory)}",
            )

    pdf.section("Journal des preuves signées", keep=45)
    pdf.set_font(pdf.family, "B", 8.5)
    widths = (10, 78, 44, 38)
    heads = ("N°", "Preuve (ETSI EN 319 522)", "Instant (UTC)", "Journal d'audit")
    for width, head in zip(widths, heads, strict=True):
        pdf.cell(width, 6, head, border="B")
    pdf.ln(6)
    pdf.set_font(pdf.family, "", 8.5)
    for number, record in enumerate(evidence_set.get("evidence", []), 1):
        index = record.get("journal_index")
        cells = (
            str(number),
            EVIDENCE_LABELS.get(str(record.get("type")), str(record.get("type"))),
            f"{from_utc(_instant(record)):%Y-%m-%d %H:%M:%S}",
            f"entrée n° {index}" if index is not None else "sans reçu",
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 5.5, text)
        pdf.ln(5.5)

    pdf.section("Vérification", keep=60)
    pdf.paragraph(
        "Ce document est scellé (PAdES) par le cachet électronique de la plateforme et horodaté "
        "par une autorité d'horodatage (RFC 3161). Toute modification, même d'un octet, "
        "invalide le cachet. Les preuves signées (Ed25519) sont jointes au document sous le "
        f"nom « {ATTACHMENT_NAME} » et se vérifient hors ligne avec la clé publique de la "
        "plateforme, comme le document : securact-delivery verify-evidence rapport.pdf."
    )
    pdf.field("Cachet", seal.subject)
    pdf.field("Émis par", seal.issuer)
    pdf.field("N° de série", seal.serial, mono=True)
    pdf.field("Horodatage", f"autorité d'horodatage {seal.tsa_url}")
    for key in verifier_keys:
        pdf.field("Clé des preuves", key, mono=True)

    pdf.embed_file(
        basename=ATTACHMENT_NAME,
        bytes=evidence_json,
        desc="Ensemble de preuves signé (securact-ng/evidence-set/v1)",
        compress=False,
        modification_date=generated,
        creation_date=generated,
    )
    return bytes(pdf.output())


def evidence_bytes(evidence_set: Mapping[str, Any]) -> bytes:
    """The set as attached: indented UTF-8 JSON (its signature covers its canonical form)."""
    return json.dumps(evidence_set, ensure_ascii=False, indent=2).encode("utf-8")
