"""Inline SVG charts rendered on the server: a donut and bar rows, each with its own text.

No script, no colour-only meaning: every chart has a ``<title>`` and a ``<desc>`` that states the
figures, and the pages print the same figures as text next to it (legend, labels). Colours come from
CSS classes (``tone-*``) so that the stylesheet decides them; SVG geometry uses a fixed ``viewBox``
and scales with its container.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Slice:
    label: str
    value: int
    tone: str  # CSS suffix: ok, warn, bad, idle, info, neutral


def donut(slices: Sequence[Slice], *, chart_id: str, title: str, centre: str, centre_note: str) -> Markup:
    """A donut of ``slices`` with ``centre`` (a figure) and ``centre_note`` (its unit) in the middle.

    ``chart_id`` must be unique in the page (it names the title and description elements).
    """
    total = sum(s.value for s in slices)
    described = "; ".join(f"{s.label}: {s.value}" for s in slices) or "no data"
    parts = [
        Markup(
            '<svg class="donut" viewBox="0 0 42 42" role="img" aria-labelledby="{id}-t {id}-d">'
            '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>'
            '<circle class="donut-hole" cx="21" cy="21" r="15.915" fill="none" stroke-width="6"/>'
        ).format(id=chart_id, title=title, desc=described)
    ]
    # r = 100 / (2π): the circumference is 100, so dash lengths are percentages.
    offset = 25.0  # start at 12 o'clock
    for s in slices:
        if total == 0 or s.value == 0:
            continue
        share = 100.0 * s.value / total
        gap = 0.6 if share < 100 else 0.0
        parts.append(
            Markup(
                '<circle class="donut-slice tone-{tone}" cx="21" cy="21" r="15.915" fill="none" stroke-width="6" '
                'stroke-dasharray="{dash:.3f} {rest:.3f}" stroke-dashoffset="{offset:.3f}">'
                "<title>{label}: {value} ({share})</title></circle>"
            ).format(
                tone=s.tone, dash=max(share - gap, 0.01), rest=100 - share + gap, offset=offset, label=s.label,
                value=s.value, share=percent(s.value, total),
            )
        )
        offset = (offset - share) % 100
    parts.append(
        Markup(
            '<text class="donut-figure" x="21" y="21.5" text-anchor="middle">{centre}</text>'
            '<text class="donut-note" x="21" y="26.5" text-anchor="middle">{note}</text></svg>'
        ).format(centre=centre, note=centre_note)
    )
    return Markup("").join(parts)


def bar(whole: int, part: int, *, scale: int, label: str, tone: str = "info") -> Markup:
    """One horizontal bar: ``whole`` drawn light and ``part`` of it drawn dark, both relative to ``scale``.

    ``label`` states the figures in words (the bar's accessible name).
    """
    scale = max(scale, 1)
    light = 100.0 * min(max(whole, 0), scale) / scale
    dark = 100.0 * min(max(part, 0), max(whole, 0), scale) / scale
    return Markup(
        '<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{label}">'
        '<rect class="bar-track" x="0" y="0" width="100" height="6"/>'
        '<rect class="bar-whole" x="0" y="0" width="{light:.2f}" height="6"/>'
        '<rect class="bar-part tone-{tone}" x="0" y="0" width="{dark:.2f}" height="6"/></svg>'
    ).format(label=label, light=light, dark=dark, tone=tone)


def percent(value: int, total: int) -> str:
    """``value`` as a whole percentage of ``total`` (``<1 %`` for small non-zero shares)."""
    if total == 0:
        return "0 %"
    share = 100.0 * value / total
    if 0 < share < 1:
        return "<1 %"
    if 99 < share < 100:
        return ">99 %"
    return f"{math.floor(share + 0.5)} %"



def stacked(parts: Sequence[tuple[int, str]], *, total: int, label: str) -> Markup:
    """One bar split into ``parts`` — ``(count, tone)`` in order — of ``total``; ``label`` states the figures.

    A part's width is its share of ``total`` (at least the track's width in all); empty parts draw nothing.
    """
    scale = max(total, sum(max(count, 0) for count, _ in parts), 1)
    rects = []
    x = 0.0
    for count, tone in parts:
        if count <= 0:
            continue
        width = 100.0 * count / scale
        rects.append(
            Markup('<rect class="bar-part tone-{tone}" x="{x:.2f}" y="0" width="{w:.2f}" height="6"/>').format(
                tone=tone, x=x, w=width
            )
        )
        x += width
    return Markup(
        '<svg class="bar stacked" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{label}">'
        '<rect class="bar-track" x="0" y="0" width="100" height="6"/>{rects}</svg>'
    ).format(label=label, rects=Markup("").join(rects))
