"""French messages from Jinja2 templates: one text and one HTML template per kind on a shared
layout, the subject in the text template's `subject` block, and an SMS template where the kind
has one. HTML is autoescaped, so an office name such as `<b>Étude</b>` shows as text; link
values must be http(s) URLs, so no `javascript:` link can reach a message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from shared.contracts.consent import ActNature
from shared.contracts.notify import NotificationKind
from shared.french import french_date, legal_datetime
from shared.legal_calendar import Territory

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"

# What an act's nature (consent's `ActNature`, as delivery puts it in its events) is called in a
# French sentence: "Nature de l'acte : commandement de payer".
ACT_NATURE_LABELS: Final[dict[ActNature, str]] = {
    ActNature.SIGNIFICATION_JUGEMENT: "signification d'un jugement ou d'une autre décision",
    ActNature.COMMANDEMENT_PAYER: "commandement de payer",
    ActNature.SAISIE_ATTRIBUTION: "saisie-attribution",
    ActNature.ASSIGNATION: "assignation",
    ActNature.DENONCIATION: "dénonciation",
    ActNature.AUTRE: "autre acte",
}
UNKNOWN_ACT_NATURE: Final = "acte"
MAX_ACT_NATURE: Final = 120


class TemplateInputError(ValueError):
    """The event's data cannot go into a message (e.g. a link that is not http(s))."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def date_fr(value: date | datetime, territory: Territory = Territory.METROPOLE) -> str:
    """`lundi 3 mars 2031` (an instant is dated in `territory`'s legal time)."""
    return french_date(value, zone=territory.time_zone, weekday=True)


def datetime_fr(value: datetime, territory: Territory = Territory.METROPOLE) -> str:
    """`lundi 3 mars 2031 à 14 h 05 (heure légale de Paris)`, in `territory`'s legal time,
    named (a kind whose event carries no territory: Paris's, named)."""
    return legal_datetime(value, territory)


def datetime_sms(value: datetime, territory: Territory) -> str:
    """`3 mars 2031 à 14 h 05 (heure de Paris)`: date, hour and the zone, briefly."""
    return legal_datetime(value, territory, brief=True)


def act_nature_fr(value: object) -> str:
    """The French label of an act nature code; an unknown code (a nature added after this
    release) or free text is shown as words, never as a raw code, and never fails."""
    code = str(value or "").strip()
    try:
        return ACT_NATURE_LABELS[ActNature(code)]
    except ValueError:
        pass
    words = " ".join(code.replace("_", " ").split())[:MAX_ACT_NATURE]
    return words or UNKNOWN_ACT_NATURE


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # HTML templates (and the layout and macros they include) are escaped; text is text.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    environment.filters["date_fr"] = date_fr
    environment.filters["datetime_fr"] = datetime_fr
    environment.filters["datetime_sms"] = datetime_sms
    environment.filters["act_nature_fr"] = act_nature_fr
    return environment


def _checked(context: Mapping[str, object]) -> dict[str, object]:
    for key, value in context.items():
        if key.endswith("_url") and not (
            isinstance(value, str) and value.startswith(("https://", "http://"))
        ):
            raise TemplateInputError(f"{key} is not an http(s) URL")
    return dict(context)


class Templates:
    """Renders every message kind; built once per process."""

    def __init__(self) -> None:
        self._env = _environment()

    def email(self, kind: NotificationKind, context: Mapping[str, object]) -> RenderedEmail:
        values = _checked(context)
        text_template = self._env.get_template(f"{kind.value}.txt")
        subject = "".join(text_template.blocks["subject"](text_template.new_context(values)))
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=text_template.render(values).strip() + "\n",
            html=self._env.get_template(f"{kind.value}.html").render(values),
        )

    def sms(self, kind: NotificationKind, context: Mapping[str, object]) -> str | None:
        """The SMS text of `kind`, or None when the kind is never texted."""
        try:
            template = self._env.get_template(f"{kind.value}.sms.txt")
        except TemplateNotFound:
            return None
        return " ".join(template.render(_checked(context)).split())
