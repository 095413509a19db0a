"""How every page writes times, durations, numbers and structured values: one UTC format
(`2026-05-01 12:00:05Z`, machine-readable in `<time datetime>`), numbers rounded to what their
limits make meaningful, and dicts as key/value tables instead of Python reprs."""

import datetime as dt
import math

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

UTC_FORMAT = "%Y-%m-%d %H:%M:%SZ"


@register.filter
def utc_text(moment: dt.datetime | None) -> str:
    """The one timestamp format of the pages (and of the event sentences), as plain text: for an
    attribute such as a title, where `utc`'s `<time>` element cannot go."""
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime(UTC_FORMAT)


@register.filter
def utc(moment):
    """A datetime (or an ISO 8601 string with an offset) as `<time datetime="ISO">2026-05-01
    12:00:05Z</time>`; '—' for none."""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        return "—"
    return format_html('<time datetime="{}">{}</time>', moment.astimezone(dt.UTC).isoformat(), utc_text(moment))


def duration_text(seconds: float | None) -> str:
    """A duration in words an operator reads at a glance: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def age(moment):
    """How long ago a moment was ('—' for none), e.g. '12 min ago'."""
    if not isinstance(moment, dt.datetime):
        return "—"
    seconds = (timezone.now() - moment).total_seconds()
    return f"{duration_text(seconds)} ago" if seconds >= 0 else f"in {duration_text(seconds)}"


def decimals_for(*limits: float | None) -> int:
    """Decimals that resolve a thousandth of the widest span between a parameter's limits (2 without
    limits): 0.001 V on a 26–30.5 V bus, whole rpm on a ±6000 rpm wheel."""
    known = [v for v in limits if v is not None and math.isfinite(v)]
    span = max(known) - min(known) if len(known) >= 2 else 0.0
    if span <= 0:
        return 2
    return max(0, min(6, 3 - math.floor(math.log10(span))))


def number_text(value, decimals: int = 2) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{decimals}f}" if isinstance(value, float) else str(value)


@register.filter
def measure(value, definition):
    """A value with the units and precision its parameter definition (anything with warn/crit
    limits and `units`) implies: `24.66 degC`, not `24.655130352253902 degC`."""
    limits = [getattr(definition, k, None) for k in ("warn_low", "warn_high", "crit_low", "crit_high")]
    text = number_text(value, decimals_for(*limits))
    units = getattr(definition, "units", "")
    return f"{text} {units}" if units and value is not None else text


@register.filter
def num(value, decimals=2):
    """A number with a fixed number of decimals (ints stay whole); '—' for none."""
    return number_text(value, int(decimals))


def _cell(value):
    if isinstance(value, dict):
        return kv(value)
    if isinstance(value, list | tuple):
        if all(not isinstance(v, dict | list) for v in value):
            return ", ".join(_scalar(v) for v in value) or "—"
        return mark_safe("".join(str(_cell(v)) for v in value))
    return _scalar(value)


def _scalar(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@register.filter
def kv(value):
    """A dict as a small key/value table (nested dicts nest, lists join); '—' when empty."""
    if not isinstance(value, dict):
        return _cell(value) if value not in (None, "", [], {}) else "—"
    if not value:
        return "—"
    rows = format_html_join("", "<tr><th scope=row>{}</th><td>{}</td></tr>", ((k, _cell(v)) for k, v in value.items()))
    return format_html('<table class="kv"><tbody>{}</tbody></table>', rows)
