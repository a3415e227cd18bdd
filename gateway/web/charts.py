"""The console's charts, drawn on the server as SVG text: no script runs in the browser.

Strategy: a chart is a list of SVG elements written as strings and joined. The pages are served
with a Content-Security-Policy that allows no inline style, so no element carries a `style`
attribute and there is no `<style>` element: colours, fonts and lines are presentation
attributes (`fill`, `stroke`, `font-size`), and `class` names let the console's stylesheet
change them. Every text that comes from data (a partner's name, a state) is escaped, and
characters XML cannot carry are replaced. The root has `role="img"`, a `<title>` and a `<desc>`
that says in words what the chart shows, and a `viewBox` so that it scales to its container.
Widths of texts are estimated from their length (the server knows no font metrics).

Colours come from Okabe and Ito's palette, told apart with the common colour-vision
deficiencies; each order state has its own, always the same.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

__all__ = ["STATE_COLOURS", "nice_ticks", "orders_per_day", "partner_shares"]

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
FONT_SIZE = 11
CHARACTER_WIDTH = 0.6 * FONT_SIZE  # an average character of a sans-serif font, roughly
TEXT_COLOUR = "#222222"
QUIET_COLOUR = "#666666"
GRID_COLOUR = "#dddddd"
TRACK_COLOUR = "#eeeeee"

ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

STATE_COLOURS = {
    "received": SKY_BLUE,
    "confirmed": BLUE,
    "shipped": ORANGE,
    "completed": BLUISH_GREEN,
    "cancelled": VERMILION,
}
# States not named above take these, in the order they come.
OTHER_COLOURS = (REDDISH_PURPLE, YELLOW, GREY, TEXT_COLOUR)
SHARE_COLOURS = (BLUE, ORANGE)

NO_ORDERS = "no orders in these days"
NO_PARTNERS = "no partners to show"
NO_SHARE = "no orders"
NAME_LENGTH = 28  # partners' names longer than this are shortened (the whole in a tooltip)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def nice_ticks(maximum: int, *, most: int = 5) -> list[int]:
    """Round values for an axis from 0 to at least `maximum`: a step of 1, 2 or 5 times a
    power of ten, the smallest giving at most `most` intervals."""
    if maximum <= 0:
        return [0, 1]
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            intervals = math.ceil(maximum / step)
            if intervals <= most:
                return [step * i for i in range(intervals + 1)]
        power *= 10


def orders_per_day(
    days: Sequence[dt.date],
    series: Mapping[str, Sequence[int]],
    *,
    width: int = 720,
    height: int = 220,
) -> str:
    """A stacked bar chart of orders: one bar a day, one part a state (the states in the order
    of `series`, the first at the bottom), each part's tooltip "2026-12-01 shipped: 4"; a
    legend, a y axis with round ticks, the days' labels thinned to fit. `series[state][i]`
    counts the orders of `days[i]`; with no orders at all the chart says so."""
    for state, counts in series.items():
        if len(counts) != len(days):
            raise ValueError(f"{len(counts)} counts of {state!r} for {len(days)} days")
        if any(count < 0 for count in counts):
            raise ValueError(f"a negative count of {state!r}")
    states = list(series)
    colours = _state_colours(states)
    totals = [sum(series[state][i] for state in states) for i in range(len(days))]
    most = max(totals, default=0)

    legend, legend_bottom = _legend(
        [(state, colours[state]) for state in states], left=8, right=width - 8, top=6
    )
    ticks = nice_ticks(most)
    left = 10 + max(len(str(tick)) for tick in ticks) * CHARACTER_WIDTH
    right = width - 10
    top = legend_bottom + 10
    height = max(height, int(top) + 80)  # a long legend makes the chart taller, not flatter
    bottom = height - 22
    plot_height = bottom - top
    slot = (right - left) / len(days) if days else 0.0

    parts: list[str] = [*legend]
    if most == 0:
        parts.append(_line(left, bottom, right, bottom, QUIET_COLOUR, "axis"))
        parts.append(
            _text(NO_ORDERS, (left + right) / 2, (top + bottom) / 2, anchor="middle", cls="empty")
        )
    else:
        for tick in ticks:
            y = bottom - tick / ticks[-1] * plot_height
            parts.append(_line(left, y, right, y, GRID_COLOUR, "grid"))
            parts.append(_text(str(tick), left - 4, y, anchor="end", cls="tick", dy="0.35em"))
        parts.append(_line(left, bottom, right, bottom, QUIET_COLOUR, "axis"))
        bar_width = max(slot * 0.7, 1.0)
        outline = bar_width >= 4  # a thin white line between the parts, when bars are wide
        for i, day in enumerate(days):
            x = left + i * slot + (slot - bar_width) / 2
            y = bottom
            bars: list[str] = []
            for state in states:
                count = series[state][i]
                if count == 0:
                    continue
                part_height = count / ticks[-1] * plot_height
                y -= part_height
                bars.append(
                    _rect(x, y, bar_width, part_height, colours[state], "part", outline=outline)
                    + f"<title>{_escape(f'{day.isoformat()} {state}: {count}')}</title></rect>"
                )
            parts.append(f'<g class="day">{"".join(bars)}</g>')
    parts.extend(_day_labels(days, left, slot, bottom + 15))
    return _svg(
        width,
        height,
        "chart orders-per-day",
        "Orders per day by state",
        _orders_description(days, series, totals),
        parts,
    )


def partner_shares(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    labels: tuple[str, str] = ("acknowledged on time", "shipped on time"),
    width: int = 720,
) -> str:
    """Two horizontal bars per partner, in the order of `rows` (partner, first share, second
    share): each share from 0 to 1 drawn against a full track, its percentage beside it; a share
    of None (no orders to count) is written "no orders". The height follows the rows."""
    for partner, *shares in rows:
        for share in shares:
            if share is not None and not 0.0 <= share <= 1.0:
                raise ValueError(f"a share of {share!r} for {partner!r}: not between 0 and 1")
    legend, legend_bottom = _legend(
        list(zip(labels, SHARE_COLOURS, strict=True)), left=8, right=width - 8, top=6
    )
    bar_height, bar_gap, row_gap = 12.0, 4.0, 12.0
    row_height = 2 * bar_height + bar_gap
    name_length = min(NAME_LENGTH, int(width / 3 / CHARACTER_WIDTH))  # a third at most
    longest = max((len(_shortened(partner, name_length)) for partner, _, _ in rows), default=0)
    name_width = max(longest, 8) * CHARACTER_WIDTH
    track_left = 8 + name_width + 8
    track_right = width - 8 - 5 * CHARACTER_WIDTH - 8  # room for "100%" beside a full bar
    track_width = track_right - track_left
    top = legend_bottom + 12

    parts: list[str] = [*legend]
    if not rows:
        height = int(top + 40)
        parts.append(_text(NO_PARTNERS, width / 2, top + 16, anchor="middle", cls="empty"))
    else:
        height = int(top + len(rows) * (row_height + row_gap))
    for index, (partner, *shares) in enumerate(rows):
        y = top + index * (row_height + row_gap)
        name = _shortened(partner, name_length)
        title = f"<title>{_escape(partner)}</title>" if name != partner else ""
        group = [
            _text(name, 8, y + row_height / 2, cls="partner-name", dy="0.35em", inner=title),
        ]
        for line, (label, share, colour) in enumerate(
            zip(labels, shares, SHARE_COLOURS, strict=True)
        ):
            bar_y = y + line * (bar_height + bar_gap)
            middle = bar_y + bar_height / 2
            tooltip = f"{partner} {label}: {_percent(share)}"
            group.append(
                _rect(track_left, bar_y, track_width, bar_height, TRACK_COLOUR, "track")
                + f"<title>{_escape(tooltip)}</title></rect>"
            )
            if share is None:
                group.append(
                    _text(
                        NO_SHARE, track_left + 4, middle, cls="no-orders", dy="0.35em", quiet=True
                    )
                )
                continue
            bar_width = share * track_width
            if bar_width > 0:
                group.append(
                    _rect(track_left, bar_y, bar_width, bar_height, colour, "share")
                    + f"<title>{_escape(tooltip)}</title></rect>"
                )
            group.append(
                _text(
                    _percent(share),
                    track_left + bar_width + 4,
                    middle,
                    cls="share-value",
                    dy="0.35em",
                )
            )
        parts.append(f'<g class="partner">{"".join(group)}</g>')
    return _svg(
        width,
        height,
        "chart partner-shares",
        "Partners' documents on time",
        _shares_description(rows, labels),
        parts,
    )


# -- pieces ------------------------------------------------------------------------------------


def _svg(width: int, height: int, cls: str, title: str, description: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="0 0 {width} {height}" role="img" '
        f'class="{cls}" font-family="sans-serif" font-size="{FONT_SIZE}">'
        f"<title>{_escape(title)}</title><desc>{_escape(description)}</desc>"
        f"{''.join(parts)}</svg>"
    )


def _legend(
    entries: list[tuple[str, str]], *, left: float, right: float, top: float
) -> tuple[list[str], float]:
    """A swatch and a name per entry, in rows from `left` to `right`; the elements and the
    bottom of the last row."""
    if not entries:
        return [], top
    row_height = 16.0
    x, y = left, top
    drawn: list[str] = []
    for name, colour in entries:
        entry_width = 10 + 4 + len(name) * CHARACTER_WIDTH + 14
        if x > left and x + entry_width > right:
            x, y = left, y + row_height
        drawn.append(
            '<g class="legend-entry">'
            + _rect(x, y + 2, 10, 10, colour, "swatch", close=True)
            + _text(name, x + 14, y + 7, cls="legend-name", dy="0.35em")
            + "</g>"
        )
        x += entry_width
    return [f'<g class="legend">{"".join(drawn)}</g>'], y + row_height


def _day_labels(days: Sequence[dt.date], left: float, slot: float, y: float) -> list[str]:
    """Labels "12-01" under the bars, every n-th day so that they do not overlap."""
    if not days:
        return []
    label_width = 5 * CHARACTER_WIDTH + 6
    every = max(1, math.ceil(label_width / slot))
    return [
        _text(f"{day:%m-%d}", left + (i + 0.5) * slot, y, anchor="middle", cls="day-label")
        for i, day in enumerate(days)
        if i % every == 0
    ]


def _state_colours(states: list[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    others = 0
    for state in states:
        if state in STATE_COLOURS:
            colours[state] = STATE_COLOURS[state]
        else:
            colours[state] = OTHER_COLOURS[others % len(OTHER_COLOURS)]
            others += 1
    return colours


def _orders_description(
    days: Sequence[dt.date], series: Mapping[str, Sequence[int]], totals: list[int]
) -> str:
    if not days:
        return "No days to show."
    span = f"from {days[0].isoformat()} to {days[-1].isoformat()}"
    total = sum(totals)
    if total == 0:
        return f"No orders {span}."
    by_state = ", ".join(f"{state} {sum(counts)}" for state, counts in series.items())
    busiest = max(range(len(days)), key=totals.__getitem__)
    return (
        f"{_orders(total)} {span}: {by_state}. "
        f"The busiest day: {days[busiest].isoformat()}, {_orders(totals[busiest])}."
    )


def _orders(count: int) -> str:
    return f"{count} order" if count == 1 else f"{count} orders"


def _shares_description(
    rows: Sequence[tuple[str, float | None, float | None]], labels: tuple[str, str]
) -> str:
    if not rows:
        return "No partners to show."
    return (
        "; ".join(
            f"{partner}: "
            + ", ".join(
                f"{label} {_percent(share)}" for label, share in zip(labels, shares, strict=True)
            )
            for partner, *shares in rows
        )
        + "."
    )


def _percent(share: float | None) -> str:
    """A share as a whole percentage; never 0% or 100% unless exactly so."""
    if share is None:
        return NO_SHARE
    whole = math.floor(share * 100 + 0.5)
    if whole == 0 and share > 0:
        return "<1%"
    if whole == 100 and share < 1:
        return ">99%"
    return f"{whole}%"


def _shortened(name: str, most: int) -> str:
    """The name, or as much of it as `most` characters hold with an ellipsis."""
    return name if len(name) <= most else name[: most - 1] + "\u2026"


def _rect(
    x: float,
    y: float,
    width: float,
    height: float,
    fill: str,
    cls: str,
    *,
    close: bool = False,
    outline: bool = False,
) -> str:
    """A rectangle, left open for a `<title>` child unless `close`; `outline` draws a thin
    white edge."""
    edge = ' stroke="#ffffff" stroke-width="0.5"' if outline else ""
    opening = (
        f'<rect class="{cls}" x="{_number(x)}" y="{_number(y)}" width="{_number(width)}" '
        f'height="{_number(height)}" fill="{fill}"{edge}'
    )
    return opening + ("/>" if close else ">")


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, cls: str) -> str:
    return (
        f'<line class="{cls}" x1="{_number(x1)}" y1="{_number(y1)}" x2="{_number(x2)}" '
        f'y2="{_number(y2)}" stroke="{stroke}" stroke-width="1"/>'
    )


def _text(
    content: str,
    x: float,
    y: float,
    *,
    cls: str,
    anchor: str = "start",
    dy: str | None = None,
    quiet: bool = False,
    inner: str = "",
) -> str:
    """A text element; `content` is escaped, `inner` (already SVG) goes before it."""
    shift = f" dy={quoteattr(dy)}" if dy else ""
    colour = QUIET_COLOUR if quiet or cls == "empty" else TEXT_COLOUR
    return (
        f'<text class="{cls}" x="{_number(x)}" y="{_number(y)}"{shift} '
        f'text-anchor="{anchor}" fill="{colour}">{inner}{_escape(content)}</text>'
    )


def _escape(text: str) -> str:
    """Text from data, safe inside an SVG element: escaped, characters XML cannot hold replaced."""
    return escape(_NOT_XML.sub("\ufffd", text))


def _number(value: float) -> str:
    written = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if written == "-0" else written
