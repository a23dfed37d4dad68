"""Reading the call form: the callback time and the corrections typed on the phone."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from models.errors import InvalidInput

from .forms import OutcomeForm


def local_zone() -> ZoneInfo:
    """The time zone agents think in."""
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def _to_utc(moment: datetime) -> datetime:
    """A zone-aware time as naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def callback_time(form: OutcomeForm, now: datetime) -> datetime | None:
    """When to call back, from a quick pick or the typed local time (naive UTC)."""
    zone = local_zone()
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    choice = form.callback.data
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "evening":
        evening = datetime.combine(local_now.date(), time(18), zone)
        return _to_utc(evening if evening > local_now else evening + timedelta(days=1))
    if choice == "morning":
        return _to_utc(datetime.combine(local_now.date() + timedelta(days=1), time(10), zone))
    if choice == "custom":
        if form.callback_at.data is None:
            raise InvalidInput(_("Pick the date and time to call back."))
        return _to_utc(form.callback_at.data.replace(tzinfo=zone))
    return None


def line_changes(form_data) -> tuple[dict[int, int], frozenset[int]]:
    """Quantities typed per line (qty-<id>) and lines ticked for removal (remove-<id>).

    Ids that are not the order's lines are ignored by the edit.
    """
    quantities, remove = {}, set()
    for key, raw in form_data.items():
        kind, _sep, line_id = key.partition("-")
        if not line_id.isdigit() or kind not in ("qty", "remove"):
            continue
        if kind == "remove":
            if raw:
                remove.add(int(line_id))
        elif raw != "":
            try:
                quantities[int(line_id)] = int(raw)
            except ValueError:
                raise InvalidInput(_("“%(value)s” is not a quantity.", value=raw)) from None
    return quantities, frozenset(remove)


def reason_note(form: OutcomeForm) -> str:
    """The picked reason and the free text, as one note."""
    parts = [p.strip() for p in (form.reason.data or "", form.note.data or "") if p and p.strip()]
    return " — ".join(parts)
