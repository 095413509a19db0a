"""Contact planning from predicted passes: each station serves one spacecraft at a time, each
spacecraft talks to one station at a time. Greedy by priority (highest first; ties: the larger
volume first), each request taking the earliest free pass time until its volume is met. Every
request not fully served gets a reason."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

MIN_CONTACT = timedelta(seconds=30)
MAX_BITS = 2**63 - 1  # what a contact's bigint column holds


@dataclass
class Request:
    spacecraft: object  # id
    label: str
    priority: int
    volume_bits: int


@dataclass
class Window:
    pass_id: object
    spacecraft: object
    station: object
    station_label: str
    start: datetime
    end: datetime
    rate_bps: int


@dataclass
class Booking:
    request: Request
    window: Window
    start: datetime
    end: datetime

    @property
    def volume_bits(self) -> int:
        return min(MAX_BITS, int((self.end - self.start).total_seconds() * self.window.rate_bps))


@dataclass
class Plan:
    bookings: list[Booking] = field(default_factory=list)
    unserved: list[dict] = field(default_factory=list)


def _free_segments(start, end, busy):
    """Parts of [start, end] not covered by the busy intervals."""
    segments, cursor = [], start
    for b_start, b_end in sorted(busy):
        if b_end <= cursor or b_start >= end:
            continue
        if b_start > cursor:
            segments.append((cursor, b_start))
        cursor = max(cursor, b_end)
    if cursor < end:
        segments.append((cursor, end))
    return segments


def plan(requests: list[Request], windows: list[Window], start: datetime, end: datetime) -> Plan:
    result = Plan()
    station_busy: dict = {}
    spacecraft_busy: dict = {}
    owner_of: dict = {}  # (station, start, end) -> label, to name who took a station
    for request in sorted(requests, key=lambda r: (-r.priority, -r.volume_bits, str(r.label))):
        mine = sorted(
            (w for w in windows if w.spacecraft == request.spacecraft and w.end > start and w.start < end),
            key=lambda w: w.start,
        )
        needed = request.volume_bits
        blocked_by: set = set()
        for window in mine:
            if needed <= 0:
                break
            w_start, w_end = max(window.start, start), min(window.end, end)
            busy = station_busy.get(window.station, []) + spacecraft_busy.get(request.spacecraft, [])
            for seg_start, seg_end in _free_segments(w_start, w_end, busy):
                if needed <= 0:
                    break
                if seg_end - seg_start < MIN_CONTACT:
                    continue
                # Clamped to the segment first: a huge volume's seconds overflow a timedelta.
                seconds_needed = max(MIN_CONTACT.total_seconds(), needed / window.rate_bps)
                seconds_needed = min(seconds_needed, (seg_end - seg_start).total_seconds())
                seg_end = min(seg_end, seg_start + timedelta(seconds=seconds_needed))
                booking = Booking(request, window, seg_start, seg_end)
                result.bookings.append(booking)
                needed -= booking.volume_bits
                station_busy.setdefault(window.station, []).append((seg_start, seg_end))
                spacecraft_busy.setdefault(request.spacecraft, []).append((seg_start, seg_end))
                owner_of[(window.station, seg_start, seg_end)] = request.label
            for (station, b_start, b_end), label in owner_of.items():
                if station == window.station and b_start < w_end and b_end > w_start and label != request.label:
                    blocked_by.add(label)
        if needed > 0:
            scheduled = request.volume_bits - needed
            if not mine:
                reason = "no pass over any station in the window"
            elif blocked_by:
                reason = (
                    f"station time taken by higher-priority {', '.join(sorted(blocked_by))}; "
                    f"the passes left carry {scheduled} of {request.volume_bits} bits"
                )
            else:
                reason = f"its passes in the window carry only {scheduled} of {request.volume_bits} bits"
            result.unserved.append(
                {
                    "spacecraft": str(request.spacecraft),
                    "designation": request.label,
                    "priority": request.priority,
                    "needed_bits": request.volume_bits,
                    "scheduled_bits": max(0, scheduled),
                    "reason": reason,
                }
            )
    result.bookings.sort(key=lambda b: b.start)
    return result
