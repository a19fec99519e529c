"""The SVG chart helpers: proportions, accessible names, escaping, percentages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from guestpatch.web.charts import Slice, bar, donut, percent

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_donut_slices_are_proportional_and_go_round_once() -> None:
    """Each slice's dash is its share of 100 (minus a small gap); together they fill the ring."""
    svg = _parse(donut([Slice("a", 3, "ok"), Slice("b", 1, "bad")], chart_id="d", title="T", centre="4",
                       centre_note="machines"))
    dashes = [c.get("stroke-dasharray") for c in svg.iter(f"{SVG}circle") if "donut-slice" in (c.get("class") or "")]
    shares = [float(d.split()[0]) + 0.6 for d in dashes if d]
    assert shares == pytest.approx([75.0, 25.0])


def test_donut_states_its_figures_in_title_and_description() -> None:
    """The SVG is an image named by its title, described by every slice's label and figure."""
    svg = _parse(donut([Slice("Compliant", 7, "ok"), Slice("Failed", 2, "bad")], chart_id="st", title="By status",
                       centre="9", centre_note="machines"))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "st-t st-d"
    assert svg.find(f"{SVG}title").text == "By status"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "Compliant: 7; Failed: 2"  # type: ignore[union-attr]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["9", "machines"]


def test_a_single_slice_is_a_full_ring_and_empty_slices_are_skipped() -> None:
    """One non-zero slice: no gap; zero slices draw nothing; an empty donut still renders."""
    svg = _parse(donut([Slice("a", 5, "ok"), Slice("b", 0, "bad")], chart_id="x", title="T", centre="5",
                       centre_note=""))
    slices = [c for c in svg.iter(f"{SVG}circle") if "donut-slice" in (c.get("class") or "")]
    assert [c.get("stroke-dasharray") for c in slices] == ["100.000 0.000"]
    empty = _parse(donut([], chart_id="e", title="T", centre="0", centre_note="machines"))
    assert not [c for c in empty.iter(f"{SVG}circle") if "donut-slice" in (c.get("class") or "")]


def test_labels_are_escaped() -> None:
    """Text that looks like markup stays text inside the SVG."""
    markup = str(donut([Slice("<script>x</script>", 1, '"><b')], chart_id="z", title="<i>", centre="&",
                       centre_note="n"))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    assert 'tone-"' not in markup
    _parse(markup)  # still well-formed


@pytest.mark.parametrize(
    ("whole", "part", "scale", "light", "dark"),
    [(10, 4, 20, 50.0, 20.0), (20, 20, 20, 100.0, 100.0), (0, 0, 0, 0.0, 0.0), (30, 50, 20, 100.0, 100.0),
     (10, -3, 10, 100.0, 0.0)],
)
def test_bar_lengths_follow_the_scale_and_stay_in_range(
    whole: int, part: int, scale: int, light: float, dark: float
) -> None:
    """The light part is whole/scale, the dark part part/scale, clamped to the track and to the whole."""
    svg = _parse(bar(whole, part, scale=scale, label="figures"))
    widths = {r.get("class"): float(r.get("width") or 0) for r in svg.iter(f"{SVG}rect")}
    assert widths["bar-track"] == 100.0
    assert widths["bar-whole"] == pytest.approx(light)
    assert widths["bar-part tone-info"] == pytest.approx(dark)
    assert svg.get("aria-label") == "figures"


@pytest.mark.parametrize(
    ("value", "total", "text"),
    [(0, 0, "0 %"), (1, 3, "33 %"), (2, 3, "67 %"), (1, 1000, "<1 %"), (999, 1000, ">99 %"), (5, 5, "100 %"),
     (0, 9, "0 %"), (1, 200, "<1 %"), (1, 8, "13 %")],
)
def test_percentages_are_whole_and_never_round_to_zero_or_all(value: int, total: int, text: str) -> None:
    """Small non-zero shares say <1 %, nearly-all says >99 %, halves round up."""
    assert percent(value, total) == text


def test_chart_markup_has_no_inline_style_or_script() -> None:
    """The content security policy forbids inline styles and scripts; charts use neither."""
    markup = str(donut([Slice("a", 1, "ok")], chart_id="c", title="T", centre="1", centre_note="n")) + str(
        bar(1, 1, scale=1, label="l")
    )
    assert not re.search(r"style=|<script|on\w+=", markup)
