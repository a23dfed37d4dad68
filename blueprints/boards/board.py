"""What the status board shows for a valid filter form: figures, drill-down links, chart."""

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote, urlencode

from flask import url_for

from models import utcnow
from models.boards import figures
from models.boards.period import Period
from models.boards.tables import ALL, NOT_SHIPPED

from ..i18n import local_time
from .forms import BoardFilterForm, slice_label

# Trend series: (field, label, status colour of the palette, dashed). Delivered shares the
# green of Confirmed (both are "went well"), so it is drawn dashed to tell them apart.
SERIES = (("leads", "Leads", "blue", False), ("confirmed", "Confirmed", "green", False),
          ("delivered", "Delivered", "green", True),
          ("returned", "Returned + in return", "purple", False))
CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 44, 12, 12, 34


def period_words(period: Period) -> str:
    """The period as it reads after "Orders that arrived"."""
    if period.name in ("today", "yesterday"):
        return period.name
    if period.first == period.last:
        return f"on {period.first.isoformat()}"
    span = f"{period.first.isoformat()} to {period.last.isoformat()}"
    if period.name in ("7d", "30d"):
        return f"in the last {len(period.days)} days ({span})"
    return f"from {span}"


def percent(value: float | None) -> str:
    """12.345 -> '12.3%'; None (nothing to divide by) -> '—'."""
    return "—" if value is None else f"{value:.1f}%"


@dataclass
class Chart:
    """The trends as SVG geometry: one polyline per series, axis ticks and day labels."""

    width: int
    height: int
    lines: list[dict] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    left: int = PAD_L
    right: int = CHART_W - PAD_R
    bottom: int = CHART_H - PAD_B
    top: int = PAD_T


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
    out = Chart(CHART_W, CHART_H)
    top = nice_top(max([max(d.leads, d.confirmed, d.delivered, d.returned) for d in days]
                       + [1]))
    inner_w, inner_h = out.right - out.left, out.bottom - out.top

    def x(i: int) -> float:
        return out.left + (inner_w * i / (len(days) - 1) if len(days) > 1 else inner_w / 2)

    def y(n: int) -> float:
        return round(out.bottom - inner_h * n / top, 1)

    for name, label, colour, dashed in SERIES:
        points = [(round(x(i), 1), y(getattr(d, name)), d.day, getattr(d, name))
                  for i, d in enumerate(days)]
        out.lines.append({"name": name, "label": label, "colour": colour, "dashed": dashed,
                          "points": points,
                          "path": " ".join(f"{px},{py}" for px, py, _d, _n in points)})
    out.y_ticks = [(y(n), n) for n in sorted({0, top // 2, top})]
    step = max(1, len(days) // 6)
    shown = set(range(0, len(days), step)) | {len(days) - 1}
    out.x_labels = [(round(x(i), 1), days[i].day.strftime("%d %b")) for i in sorted(shown)]
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
    def slice_words(self) -> str:
        """", city Rabat" or ""."""
        label = slice_label(self.form)
        return f", {label}" if label else ""

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
