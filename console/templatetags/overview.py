"""Sparklines drawn on the server as inline SVG: no script, no request, readable without colour
(the last value is written beside the line)."""

from django import template
from django.utils.html import format_html

register = template.Library()

WIDTH, HEIGHT = 120, 28


@register.simple_tag
def sparkline(spark):
    """An SVG polyline of a Spark's points, with its warn band shaded when it falls in view."""
    values = [v for _, v in spark.points]
    if len(values) < 2:
        return format_html('<span class="muted spark-empty">no recent data</span>')
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad

    def y(v):
        return HEIGHT - (min(max(v, low), high) - low) / (high - low) * HEIGHT

    step = WIDTH / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    band = ""
    if spark.low is not None and spark.high is not None and spark.low < high and spark.high > low:
        top, bottom = y(spark.high), y(spark.low)
        band = format_html(
            '<rect class="band" x="0" y="{}" width="{}" height="{}"/>',
            f"{top:.1f}",
            WIDTH,
            f"{max(bottom - top, 0.5):.1f}",
        )
    return format_html(
        '<svg class="spark" viewBox="0 0 {w} {h}" preserveAspectRatio="none" role="img" aria-label="{label}">'
        '{band}<polyline points="{points}"/></svg>',
        w=WIDTH,
        h=HEIGHT,
        label=f"{spark.parameter}, last {len(values)} minutes",
        band=band,
        points=points,
    )
