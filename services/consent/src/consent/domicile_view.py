"""What the registry tells an office of the person's moves (no value, an instant)."""

from __future__ import annotations

from datetime import datetime

from consent.declarations import ContactKind, Declaration


def domicile_changed_at(declaration: Declaration) -> datetime | None:
    """When the person last declared a new domicile, if ever."""
    moves = [c.at for c in declaration.contact_changes if c.kind is ContactKind.DOMICILE]
    return max(moves) if moves else None
