"""The console's SVG charts (gateway.web.charts), read back as XML: well-formed, bars in
proportion to the counts, parts in the states' order, a legend, round ticks, data escaped and
nothing the pages' Content-Security-Policy would refuse (no script, no inline style)."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gateway.web import charts
from gateway.web.charts import (
    NO_ORDERS,
    NO_PARTNERS,
    NO_SHARE,
    STATE_COLOURS,
    nice_ticks,
    orders_per_day,
    partner_shares,
)
from tests.unit.test_dependency_rules import imported_modules

SVG = "{http://www.w3.org/2000/svg}"
STATES = ("received", "confirmed", "shipped", "completed", "cancelled")
HOSTILE = "<script>alert(1)</script>"
DAYS = [dt.date(2026, 12, 1), dt.date(2026, 12, 2), dt.date(2026, 12, 3)]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in e.get("class", "").split()]


def title_of(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


def texts(root: ET.Element, cls: str) -> list[str]:
    return ["".join(e.itertext()) for e in by_class(root, cls)]


def stacked_heights(root: ET.Element) -> list[float]:
    return [
        sum(float(part.get("height", "0")) for part in by_class(day, "part"))
        for day in by_class(root, "day")
    ]


def assert_safe(svg: str) -> None:
    """Nothing a CSP without 'unsafe-inline' refuses, nothing a browser would run."""
    root = parse(svg)
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"script", "style", "foreignObject"}
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        assert not any("href" in name for name in element.attrib)
    assert "<script" not in svg


# -- orders per day --------------------------------------------------------------------------


def test_the_chart_is_an_accessible_scalable_svg_image():
    root = parse(orders_per_day(DAYS, {"received": [1, 2, 3]}))
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 720 220"
    assert title_of(root) == "Orders per day by state"
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == (
        "6 orders from 2026-12-01 to 2026-12-03: received 6. The busiest day: 2026-12-03, 3 orders."
    )


def test_a_day_with_twice_the_orders_has_a_bar_twice_as_tall():
    svg = orders_per_day(DAYS, {"received": [1, 0, 3], "shipped": [1, 2, 1]})
    first, second, third = stacked_heights(parse(svg))
    assert first == pytest.approx(second, abs=0.02)
    assert third == pytest.approx(2 * second, abs=0.02)


def test_each_part_is_as_tall_as_its_count_and_stacked_in_the_states_order():
    series = {state: [n + 1, 0, 0] for n, state in enumerate(STATES)}
    root = parse(orders_per_day(DAYS, series))
    (first_day, *_) = by_class(root, "day")
    parts = by_class(first_day, "part")
    assert [title_of(part) for part in parts] == [
        f"2026-12-01 {state}: {n + 1}" for n, state in enumerate(STATES)
    ]
    assert [part.get("fill") for part in parts] == [STATE_COLOURS[state] for state in STATES]
    unit = float(parts[0].get("height", "0"))
    for n, part in enumerate(parts):
        assert float(part.get("height", "0")) == pytest.approx((n + 1) * unit, rel=0.005)
    # the first state sits at the bottom, each next one on top of the one before
    bottoms = [float(p.get("y", "0")) + float(p.get("height", "0")) for p in parts]
    tops = [float(p.get("y", "0")) for p in parts]
    assert bottoms[1:] == pytest.approx(tops[:-1], abs=0.02)


def test_a_state_without_orders_that_day_draws_no_part():
    root = parse(orders_per_day(DAYS, {"received": [0, 1, 0], "shipped": [2, 0, 0]}))
    days = by_class(root, "day")
    assert [[title_of(part) for part in by_class(day, "part")] for day in days] == [
        ["2026-12-01 shipped: 2"],
        ["2026-12-02 received: 1"],
        [],
    ]


def test_the_legend_names_every_state_in_order_with_its_colour():
    root = parse(orders_per_day(DAYS, {state: [1, 1, 1] for state in STATES}))
    assert texts(root, "legend-name") == list(STATES)
    swatches = [swatch.get("fill") for swatch in by_class(root, "swatch")]
    assert swatches == [STATE_COLOURS[state] for state in STATES]
    assert len(set(swatches)) == len(STATES)


def test_a_state_of_no_known_colour_gets_one_of_its_own():
    root = parse(orders_per_day(DAYS, {"received": [1, 1, 1], "on hold": [1, 1, 1]}))
    fills = [swatch.get("fill") for swatch in by_class(root, "swatch")]
    assert fills[0] == STATE_COLOURS["received"]
    assert fills[1] not in STATE_COLOURS.values()


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (13, [0, 5, 10, 15]),
        (99, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_ticks_are_round_and_reach_the_maximum(maximum, expected):
    assert nice_ticks(maximum) == expected


@pytest.mark.parametrize("maximum", [*range(1, 60), 99, 101, 250, 999, 1001, 12345])
def test_ticks_step_by_one_two_or_five_times_a_power_of_ten(maximum):
    ticks = nice_ticks(maximum)
    step = ticks[1]
    assert str(step).rstrip("0") in {"1", "2", "5"}
    assert ticks == [step * i for i in range(len(ticks))]
    assert ticks[-2] < maximum <= ticks[-1]
    assert 2 <= len(ticks) <= 6


def test_the_axis_is_labelled_with_the_ticks_and_the_tallest_bar_reaches_the_top_one():
    root = parse(orders_per_day(DAYS, {"received": [3, 7, 1]}))
    assert texts(root, "tick") == ["0", "2", "4", "6", "8"]
    ys = [float(line.get("y1", "0")) for line in by_class(root, "grid")]
    zero, eight = ys[0], ys[-1]  # the grid lines, from the bottom up
    assert stacked_heights(root)[1] == pytest.approx((zero - eight) * 7 / 8, abs=0.02)


def test_day_labels_are_thinned_to_fit():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(90)]
    root = parse(orders_per_day(days, {"received": [1] * 90}))
    labels = texts(root, "day-label")
    assert labels[0] == "01-01"
    assert 5 < len(labels) < 30
    xs = [float(e.get("x", "0")) for e in by_class(root, "day-label")]
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 5 * 11 * 0.6


def test_every_day_is_labelled_when_there_is_room():
    root = parse(orders_per_day(DAYS, {"received": [1, 1, 1]}))
    assert texts(root, "day-label") == ["12-01", "12-02", "12-03"]


@pytest.mark.parametrize(
    ("days", "series"),
    [
        ([], {}),
        ([], {"received": []}),
        (DAYS, {}),
        (DAYS, {state: [0, 0, 0] for state in STATES}),
    ],
    ids=["nothing", "no days", "no states", "all zero"],
)
def test_no_orders_draw_an_empty_chart_that_says_so(days, series):
    svg = orders_per_day(days, series)
    root = parse(svg)
    assert texts(root, "empty") == [NO_ORDERS]
    assert by_class(root, "part") == []
    assert_safe(svg)


def test_counts_that_do_not_match_the_days_are_our_mistake():
    with pytest.raises(ValueError, match="2 counts of 'shipped' for 3 days"):
        orders_per_day(DAYS, {"shipped": [1, 2]})
    with pytest.raises(ValueError, match="negative"):
        orders_per_day(DAYS, {"shipped": [1, -2, 0]})


def test_a_hostile_state_name_is_escaped_and_nothing_would_run():
    svg = orders_per_day(DAYS, {HOSTILE: [1, 2, 3], 'a"b&c': [1, 0, 0]})
    assert_safe(svg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = parse(svg)
    assert texts(root, "legend-name") == [HOSTILE, 'a"b&c']
    assert title_of(by_class(root, "part")[0]) == f"2026-12-01 {HOSTILE}: 1"


def test_characters_xml_cannot_hold_are_replaced():
    root = parse(orders_per_day(DAYS, {"bad\x00\x1bstate": [1, 1, 1]}))
    assert texts(root, "legend-name") == ["bad\ufffd\ufffdstate"]


def test_the_whole_chart_keeps_to_what_the_pages_policy_allows():
    assert_safe(orders_per_day(DAYS, {state: [1, 2, 3] for state in STATES}))


def test_a_long_legend_makes_the_chart_taller_not_its_bars_flatter():
    many = {f"state number {n}": [1, 2, 3] for n in range(30)}
    root = parse(orders_per_day(DAYS, many, width=300, height=200))
    width, height = map(int, root.get("viewBox", "").split()[2:])
    assert width == 300
    assert height > 200
    assert max(stacked_heights(root)) >= 50


# -- partner shares ----------------------------------------------------------------------------


def partner_groups(root: ET.Element) -> list[ET.Element]:
    return by_class(root, "partner")


def test_shares_are_drawn_in_proportion_with_their_percentages():
    svg = partner_shares([("Harborview", 0.5, 1.0), ("Pinecrest", 0.0, None)])
    assert_safe(svg)
    root = parse(svg)
    harborview, pinecrest = partner_groups(root)
    assert texts(harborview, "partner-name") == ["Harborview"]
    (track, *_) = by_class(harborview, "track")
    full = float(track.get("width", "0"))
    half, whole = by_class(harborview, "share")
    assert float(half.get("width", "0")) == pytest.approx(full / 2, abs=0.02)
    assert float(whole.get("width", "0")) == pytest.approx(full, abs=0.02)
    assert texts(harborview, "share-value") == ["50%", "100%"]
    assert title_of(half) == "Harborview acknowledged on time: 50%"
    assert title_of(whole) == "Harborview shipped on time: 100%"
    # a share of 0 is a bar of nothing, written 0%; None is no orders to count
    assert by_class(pinecrest, "share") == []
    assert texts(pinecrest, "share-value") == ["0%"]
    assert texts(pinecrest, "no-orders") == [NO_SHARE]
    assert [title_of(t) for t in by_class(pinecrest, "track")] == [
        "Pinecrest acknowledged on time: 0%",
        "Pinecrest shipped on time: no orders",
    ]


def test_partners_keep_their_order_and_the_legend_names_the_two_shares():
    rows = [("Zeta", 0.1, 0.2), ("Alpha", 0.3, 0.4), ("Mu", None, None)]
    root = parse(partner_shares(rows, labels=("855 on time", "856 on time")))
    assert [texts(group, "partner-name")[0] for group in partner_groups(root)] == [
        "Zeta",
        "Alpha",
        "Mu",
    ]
    assert texts(root, "legend-name") == ["855 on time", "856 on time"]
    ys = [float(by_class(g, "track")[0].get("y", "0")) for g in partner_groups(root)]
    assert ys == sorted(ys)


def test_the_shares_chart_grows_with_its_partners():
    one = parse(partner_shares([("A", 0.5, 0.5)]))
    ten = parse(partner_shares([(f"P{n}", 0.5, 0.5) for n in range(10)]))
    assert ten.get("viewBox", "").split()[2] == "720"
    assert int(ten.get("viewBox", "").split()[3]) > int(one.get("viewBox", "").split()[3])


@pytest.mark.parametrize(
    ("share", "written"), [(0.004, "<1%"), (0.996, ">99%"), (0.125, "13%"), (0.5, "50%")]
)
def test_a_percentage_is_never_rounded_to_none_or_all(share, written):
    root = parse(partner_shares([("A", share, None)]))
    assert texts(root, "share-value") == [written]


def test_a_hostile_partner_name_is_escaped_and_nothing_would_run():
    svg = partner_shares([(HOSTILE, 0.5, None)])
    assert_safe(svg)
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert texts(root, "partner-name") == [HOSTILE]
    assert title_of(by_class(root, "share")[0]) == f"{HOSTILE} acknowledged on time: 50%"


def test_a_long_partner_name_is_shortened_with_the_whole_name_in_its_tooltip():
    name = "Harborview Industrial Supply and Distribution Company"
    root = parse(partner_shares([(name, 0.5, 0.5)]))
    (label,) = by_class(root, "partner-name")
    assert title_of(label) == name
    shown = "".join(label.itertext()).removeprefix(name)  # the tooltip's text comes first
    assert shown.endswith("\u2026")
    assert len(shown) == 28


def test_no_partners_draw_a_chart_that_says_so():
    root = parse(partner_shares([]))
    assert texts(root, "empty") == [NO_PARTNERS]


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_a_share_outside_zero_to_one_is_our_mistake(share):
    with pytest.raises(ValueError, match="not between 0 and 1"):
        partner_shares([("A", share, 0.5)])


def test_the_charts_need_only_the_standard_library():
    for module in imported_modules(Path(charts.__file__)):
        assert module.split(".")[0] in sys.stdlib_module_names | {"__future__"}, module


def test_a_narrow_shares_chart_gives_the_names_a_third_of_its_width():
    svg = partner_shares([("Harborview Industrial Supply", 0.5, 0.5)], width=240)
    root = parse(svg)
    (label,) = by_class(root, "partner-name")
    assert len("".join(label.itertext()).removeprefix("Harborview Industrial Supply")) == 12
    (track, *_) = by_class(root, "track")
    assert float(track.get("width", "0")) > 240 / 3
