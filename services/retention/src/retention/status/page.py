"""The public status page (`/statut`, French, no JavaScript, the portal's layout) and its Atom
feed (`/statut.atom`): no login, nothing about any person."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from retention.status.deadline import utc_french
from retention.status.service import Status
from retention.status.view import IncidentView, StatusFeed
from shared.portal import stylesheet_router, templates

ATOM = "http://www.w3.org/2005/Atom"
TEMPLATES = templates(Path(__file__).parent / "templates")
TEMPLATES.env.filters["utc_fr"] = utc_french


def _entry(feed: ET.Element, incident: IncidentView, base: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    state = "en cours" if incident.open else "terminé"
    ET.SubElement(
        entry, f"{{{ATOM}}}title"
    ).text = f"Incident {state} : {', '.join(incident.functions)}"
    ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:securact:incident:{incident.id}"
    updated = incident.ended_at or incident.started_at
    ET.SubElement(entry, f"{{{ATOM}}}updated").text = updated.isoformat()
    ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/v1/incidents/{incident.id}")
    lines = [
        f"Cause : {incident.cause}",
        f"Début : {utc_french(incident.started_at)}",
        f"Fin : {utc_french(incident.ended_at) if incident.ended_at else 'en cours'}",
    ]
    for local in incident.legal_times:
        end = local.end or "en cours"
        lines.append(f"{', '.join(local.territories)} : du {local.start} au {end}")
    ET.SubElement(entry, f"{{{ATOM}}}summary").text = "\n".join(lines)


def atom(feed: StatusFeed, base: str) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(root, f"{{{ATOM}}}title").text = "SECURACT-NG — État du service"
    ET.SubElement(root, f"{{{ATOM}}}id").text = "urn:securact:status"
    ET.SubElement(root, f"{{{ATOM}}}updated").text = feed.generated_at.isoformat()
    ET.SubElement(root, f"{{{ATOM}}}link", href=f"{base}/statut")
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "SECURACT-NG"
    for maintenance in feed.upcoming_maintenance:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(
            entry, f"{{{ATOM}}}title"
        ).text = f"Maintenance programmée : {', '.join(maintenance.functions)}"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:securact:maintenance:{maintenance.id}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = maintenance.starts_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = "\n".join(
            [maintenance.description]
            + [
                f"{', '.join(t.territories)} : du {t.start} au {t.end}"
                for t in maintenance.legal_times
            ]
        )
    for incident in (*feed.current_incidents, *feed.past_incidents):
        _entry(root, incident, base)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def status_page_router(status: Status) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(stylesheet_router())

    @router.get("/statut")
    async def page() -> HTMLResponse:
        feed = await status.feed()
        return TEMPLATES.response(
            "statut.html",
            {"page_title": "État du service", "feed": feed},
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/statut.atom")
    async def atom_feed() -> Response:
        feed = await status.feed()
        return Response(
            atom(feed, status.ctx.base.policy.public_url.rstrip("/")),
            media_type="application/atom+xml; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return router
