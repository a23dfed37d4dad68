"""What the status board shows for a valid filter form: figures, drill-down links, chart."""

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote, urlencode

from babel.dates import format_date
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from models import utcnow
from models.boards import figures
from models.boards.period import Period
from models.boards.tables import ALL, NOT_SHIPPED

from ..i18n import FORMAT_LOCALES, is_rtl, language, local_date, local_time, number
from ..i18n import percent as share_text
from .forms import BoardFilterForm, slice_label

# Trend series: (field, label, status colour of the palette, dashed). Delivered shares the
# green of Confirmed (both are "went well"), so it is drawn dashed to tell them apart.
SERIES = (("leads", _l("Leads"), "blue", False),
          ("confirmed", _l("Confirmed"), "green", False),
          ("delivered", _l("Delivered"), "green", True),
          ("returned", _l("Returned + in return"), "purple", False))
CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 44, 12, 12, 34


def period_words(period: Period) -> str:
    """The period as it reads after "Orders that arrived" (a phrase of its own in every
    language: "today", "aujourd'hui", "اليوم")."""
    if period.name == "today":
        return _("today")
    if period.name == "yesterday":
        return _("yesterday")
    first, last = local_date(period.first), local_date(period.last)
    if period.first == period.last:
        return _("on %(day)s", day=first)
    if period.name in ("7d", "30d"):
        return ngettext("in the last %(num)d day (%(first)s to %(last)s)",
                        "in the last %(num)d days (%(first)s to %(last)s)", len(period.days),
                        first=first, last=last)
    return _("from %(first)s to %(last)s", first=first, last=last)


def percent(value: float | None) -> str:
    """12.345 -> '12.3%' (as the language writes it); None (nothing to divide by) -> '—'."""
    return share_text(None if value is None else value / 100)


@dataclass
class Chart:
    """The trends as SVG geometry: one polyline per series, axis ticks and day labels."""

    width: int
    height: int
    lines: list[dict] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    left: int = PAD_L
    right: int = CHART_W - PAD_R
    bottom: int = CHART_H - PAD_B
    top: int = PAD_T
    rtl: bool = False  # drawn mirrored: the value axis on the right, days running leftwards

    def mx(self, x: float) -> float:
        """An x of the left-to-right drawing, mirrored when the page reads right to left."""
        return round(self.width - x, 1) if self.rtl else x

    @property
    def axis_x(self) -> float:
        """Where the value axis stands: the start side of the reading direction."""
        return self.mx(self.left)

    @property
    def tick_x(self) -> float:
        """Where the value axis' numbers end (or start, mirrored), just outside the axis."""
        return self.mx(self.left - 6)

    @property
    def tick_anchor(self) -> str:
        """The numbers hug the axis from the outside on either side."""
        return "start" if self.rtl else "end"

    @property
    def label_x(self) -> float:
        """The rotated "Orders" label, outside the value axis."""
        return self.mx(12)


def nice_top(n: int) -> int:
    """The axis' top: the smallest 2, 4, 10, 20, 40, 100… at or above n (halves stay whole)."""
    scale = 1
    while True:
        for step in (2, 4, 10):
            if n <= step * scale:
                return step * scale
        scale *= 10


def chart(days: list[figures.Day]) -> Chart:
    """Place every day's numbers on a fixed canvas (the SVG scales with the page)."""
    out = Chart(CHART_W, CHART_H, rtl=is_rtl())
    top = nice_top(max([max(d.leads, d.confirmed, d.delivered, d.returned) for d in days]
                       + [1]))
    inner_w, inner_h = out.right - out.left, out.bottom - out.top

    def x(i: int) -> float:
        return out.mx(out.left + (inner_w * i / (len(days) - 1) if len(days) > 1
                                  else inner_w / 2))

    def y(n: int) -> float:
        return round(out.bottom - inner_h * n / top, 1)

    for name, label, colour, dashed in SERIES:
        points = [(round(x(i), 1), y(getattr(d, name)), d.day, getattr(d, name))
                  for i, d in enumerate(days)]
        out.lines.append({"name": name, "label": label, "colour": colour, "dashed": dashed,
                          "points": points,
                          "path": " ".join(f"{px},{py}" for px, py, _d, _n in points)})
    out.y_ticks = [(y(n), number(n)) for n in sorted({0, top // 2, top})]
    step = max(1, len(days) // 6)
    shown = set(range(0, len(days), step)) | {len(days) - 1}
    locale = FORMAT_LOCALES[language()]
    out.x_labels = [(round(x(i), 1), format_date(days[i].day, "dd MMM", locale=locale))
                    for i in sorted(shown)]
    return out


@dataclass
class Board:
    """Everything the live part of the board renders."""

    form: BoardFilterForm
    period: Period
    counts: figures.Counts
    rates: list[figures.Rate]
    funnel: list[figures.Step]
    trends: list[figures.Day]
    chart: Chart
    updated: str

    @property
    def empty(self) -> bool:
        """No order arrived in the period (and slice)."""
        return self.counts.total == 0

    @property
    def arrived(self) -> str:
        """"today", "in the last 7 days (…)" …"""
        return period_words(self.period)

    @property
    def heading(self) -> str:
        """"Orders that arrived today" …"""
        return _("Orders that arrived %(when)s", when=self.arrived)

    @property
    def slice(self) -> tuple[str, str] | None:
        """The filter chosen, as (what, which): ("City", "Rabat"); None for every order."""
        return slice_label(self.form)

    def args(self, **changes) -> dict[str, str]:
        """The board's own URL arguments."""
        return {**self.form.args(), **changes}

    @cached_property
    def _drill_base(self) -> tuple[str, dict[str, str]]:
        """The orders list's address and the arguments every drill-down link shares (the
        matrix has some seventy links: one url_for, not seventy)."""
        args = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        chosen = self.form.chosen_slice()
        if chosen.dim != ALL:
            args[chosen.dim] = chosen.key
        return url_for("orders.index"), args

    def drill(self, conf: str | None = None, ship: str | None = None) -> str:
        """The orders list showing exactly the orders behind one count."""
        base, shared = self._drill_base
        args = dict(shared)
        if conf:
            args["conf"] = conf
        if ship is not None:
            args["ship"] = "none" if ship == NOT_SHIPPED else ship
        return f"{base}?{urlencode(args, quote_via=quote)}"


def board_of(form: BoardFilterForm) -> Board:
    """Read the figures the valid form asks for (one rollup query)."""
    period = form.chosen_period()
    counts = figures.read_counts(period, form.chosen_slice())
    days = figures.trends(counts)
    return Board(form, period, counts, figures.rates(counts), figures.funnel(counts), days,
                 chart(days), local_time(utcnow(), "%H:%M:%S"))
