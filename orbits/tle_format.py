"""Parsing and validation of element sets: CelesTrak-style 2- and 3-line TLE text and OMM JSON.

A file is parsed element set by element set: a fault refuses that set only, and every refusal
names the line and column (TLE) or the record and field (OMM) at fault.
"""

import json
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sgp4 import exporter, omm
from sgp4.api import WGS72, Satrec

from .exceptions import TLEFormatError

ALPHA5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # Alpha-5 letters: I and O are skipped
NORAD_LIMIT = 340000  # Alpha-5 reaches Z9999 = 339999
# A TLE carries the epoch day to 1e-8 (under a millisecond); more than this is another epoch.
EPOCH_TOLERANCE = timedelta(seconds=1)


@dataclass
class ElementSet:
    norad_id: int
    object_name: str
    line1: str
    line2: str
    epoch: datetime
    satrec: Satrec = field(repr=False)
    format: str = "tle"
    location: str = ""  # "lines 3-5" or "record 2": where it was in the input


@dataclass
class Refusal:
    location: str
    reason: str
    norad_id: int | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None  # the OMM field at fault

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ParseResult:
    element_sets: list[ElementSet] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else 1 if c == "-" else 0 for c in line[:68]) % 10


def parse_satnum(text: str, *, line: int, column: int) -> int:
    text = text.strip()
    if not text:
        raise TLEFormatError("satellite number is empty", line=line, column=column)
    if text[0].isalpha() and len(text) == 5 and text[1:].isdigit():
        letter = text[0].upper()
        if letter not in ALPHA5:
            raise TLEFormatError(f"{letter!r} is not an Alpha-5 letter", line=line, column=column)
        return (ALPHA5.index(letter) + 10) * 10000 + int(text[1:])
    if not text.isdigit():
        raise TLEFormatError(f"satellite number {text!r} is not a number", line=line, column=column)
    return int(text)


def _float(text: str, what: str, *, line: int, column: int, low: float, high: float, implied_point=False) -> float:
    raw = text.strip()
    try:
        value = float(f"0.{raw}" if implied_point else raw.replace(" ", ""))
    except ValueError:
        raise TLEFormatError(f"{what} {raw!r} is not a number", line=line, column=column) from None
    if implied_point and not raw.isdigit():
        raise TLEFormatError(f"{what} {raw!r} must be digits with an implied decimal point", line=line, column=column)
    if not low <= value <= high or math.isnan(value):
        raise TLEFormatError(f"{what} {value:g} outside [{low:g}, {high:g}]", line=line, column=column)
    return value


def _exponent_field(text: str, what: str, *, line: int, column: int) -> float:
    """A TLE 'assumed decimal, signed exponent' field such as ' 12345-3' or '-11606-4'."""
    raw = text.strip() or "0"
    # Slices, not indexes: a field of one or two characters must be refused, not raise.
    mantissa, sign, exponent = raw[:-2], raw[-2:-1], raw[-1:]
    if sign not in ("+", "-") or not exponent.isdigit() or not mantissa.lstrip("+-").isdigit():
        if raw.replace("+", "").replace("-", "").strip("0") == "":
            return 0.0
        raise TLEFormatError(f"{what} {raw!r} is not in the form ±NNNNN±E", line=line, column=column)
    return float(f"{mantissa[:1] if mantissa[:1] in '+-' else ''}0.{mantissa.lstrip('+-')}e{sign}{exponent}")


def validate_lines(line1: str, line2: str, *, first_line: int = 1) -> tuple[int, datetime, Satrec]:
    """Check one element set column by column; return (NORAD id, epoch, Satrec) or raise TLEFormatError."""
    n1, n2 = first_line, first_line + 1
    for number, text, lineno in (("1", line1, n1), ("2", line2, n2)):
        if not text.isascii():
            column = next(i for i, c in enumerate(text, 1) if not c.isascii())
            raise TLEFormatError("non-ASCII character", line=lineno, column=column)
        if not text.isprintable():  # a NUL would only fail later, when the set is saved
            column = next(i for i, c in enumerate(text, 1) if not c.isprintable())
            raise TLEFormatError("control character", line=lineno, column=column)
        if len(text) != 69:
            raise TLEFormatError(
                f"has {len(text)} characters, a TLE line has 69", line=lineno, column=min(len(text), 69) or 1
            )
        if text[0] != number:
            raise TLEFormatError(f"line number must be {number}, found {text[0]!r}", line=lineno, column=1)
        if not text[68].isdigit():
            raise TLEFormatError(f"checksum {text[68]!r} is not a digit", line=lineno, column=69)
        if int(text[68]) != checksum(text):
            raise TLEFormatError(
                f"checksum {text[68]} does not match the computed {checksum(text)}", line=lineno, column=69
            )
        for column in (2,) + ((9, 18, 33, 44, 53, 62, 64) if number == "1" else (8, 17, 26, 34, 43, 52)):
            if text[column - 1] != " ":
                raise TLEFormatError(f"must be a space, found {text[column - 1]!r}", line=lineno, column=column)

    satnum = parse_satnum(line1[2:7], line=n1, column=3)
    if parse_satnum(line2[2:7], line=n2, column=3) != satnum:
        raise TLEFormatError(
            f"satellite number {line2[2:7].strip()} differs from line 1's {line1[2:7].strip()}", line=n2, column=3
        )
    if line1[7] not in "UCS ":
        raise TLEFormatError(f"classification {line1[7]!r} is not U, C or S", line=n1, column=8)
    year = _float(line1[18:20], "epoch year", line=n1, column=19, low=0, high=99)
    day = _float(line1[20:32], "epoch day", line=n1, column=21, low=1, high=366.99999999)
    _float(line1[33:43], "first derivative of mean motion", line=n1, column=34, low=-1, high=1)
    _exponent_field(line1[44:52], "second derivative of mean motion", line=n1, column=45)
    bstar = _exponent_field(line1[53:61], "BSTAR drag term", line=n1, column=54)
    if abs(bstar) > 1:
        raise TLEFormatError(f"BSTAR {bstar:g} outside [-1, 1]", line=n1, column=54)
    _float(line2[8:16], "inclination", line=n2, column=9, low=0, high=180)
    _float(line2[17:25], "right ascension of the ascending node", line=n2, column=18, low=0, high=360)
    _float(line2[26:33], "eccentricity", line=n2, column=27, low=0, high=0.9999999, implied_point=True)
    _float(line2[34:42], "argument of perigee", line=n2, column=35, low=0, high=360)
    _float(line2[43:51], "mean anomaly", line=n2, column=44, low=0, high=360)
    _float(line2[52:63], "mean motion", line=n2, column=53, low=0.05, high=20)
    if line2[63:68].strip() and not line2[63:68].strip().isdigit():
        raise TLEFormatError(f"revolution number {line2[63:68].strip()!r} is not a number", line=n2, column=64)

    satrec = Satrec.twoline2rv(line1, line2, WGS72)
    full_year = int(year) + (1900 if year >= 57 else 2000)
    epoch = datetime(full_year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1)
    _check_propagates(satrec, line=n2)
    return satnum, epoch, satrec


def _check_propagates(satrec: Satrec, *, line: int | None = None, field_name: str | None = None) -> None:
    error, _, _ = satrec.sgp4(satrec.jdsatepoch, satrec.jdsatepochF)
    if error:
        raise TLEFormatError(f"SGP4 cannot propagate these elements (error {error})", line=line, field=field_name)


def parse_text(text: str) -> ParseResult:
    """Parse CelesTrak-style text: element sets of two lines, each optionally preceded by a name line."""
    result = ParseResult()
    lines = text.splitlines()
    i, name, name_line = 0, "", None
    while i < len(lines):
        raw = lines[i].rstrip()
        lineno = i + 1
        if not raw.strip():
            i += 1
            continue
        if raw.startswith("1 ") and len(raw) >= 2:
            nxt = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
            if not nxt.startswith("2 "):
                result.refused.append(
                    Refusal(f"line {lineno}", "line 1 is not followed by a line 2", line=lineno + 1, column=1)
                )
                i += 1
                name, name_line = "", None
                continue
            start = name_line or lineno
            location = f"lines {start}-{lineno + 1}"
            try:
                if name_line is not None:
                    check_storable(lines[name_line - 1], "name line", line=name_line)
                norad_id, epoch, satrec = validate_lines(raw, nxt, first_line=lineno)
            except TLEFormatError as exc:
                result.refused.append(
                    Refusal(location, exc.message, norad_id=_loose_satnum(raw), line=exc.line, column=exc.column)
                )
            else:
                result.element_sets.append(
                    ElementSet(norad_id, name, raw, nxt, epoch, satrec, format="tle", location=location)
                )
            i += 2
            name, name_line = "", None
            continue
        if raw.startswith("2 "):
            result.refused.append(Refusal(f"line {lineno}", "line 2 without a line 1 before it", line=lineno, column=1))
            i += 1
            continue
        if name_line is not None:
            result.refused.append(
                Refusal(f"line {name_line}", f"name {name!r} is not followed by a TLE", line=name_line, column=1)
            )
        name = raw[2:].strip() if raw.startswith("0 ") else raw.strip()
        name, name_line = name[:80], lineno
        i += 1
    if name_line is not None:
        result.refused.append(
            Refusal(f"line {name_line}", f"name {name!r} is not followed by a TLE", line=name_line, column=1)
        )
    return result


def check_storable(text: str, what: str, *, line: int | None = None, field_name: str | None = None) -> None:
    """PostgreSQL text holds neither NUL nor a lone surrogate (JSON can carry both): refuse them
    here, or saving the set would fail and take the whole import down with it."""
    for index, char in enumerate(text, 1):
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            raise TLEFormatError(
                f"{what} has a character that cannot be stored ({char!r})",
                line=line,
                column=index if line else None,
                field=field_name,
            )


def _loose_satnum(line1: str) -> int | None:
    try:
        return parse_satnum(line1[2:7], line=0, column=0)
    except TLEFormatError:
        return None


OMM_FIELDS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "NORAD_CAT_ID",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
OMM_RANGES = {
    "MEAN_MOTION": (0.05, 20),
    "ECCENTRICITY": (0, 0.9999999),
    "INCLINATION": (0, 180),
    "RA_OF_ASC_NODE": (0, 360),
    "ARG_OF_PERICENTER": (0, 360),
    "MEAN_ANOMALY": (0, 360),
    "BSTAR": (-1, 1),
    "MEAN_MOTION_DOT": (-1, 1),
    "MEAN_MOTION_DDOT": (-1, 1),
}


def parse_omm_json(text: str) -> ParseResult:
    """Parse OMM JSON (CelesTrak `FORMAT=json`): a list of records, or one record."""
    result = ParseResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.refused.append(
            Refusal(f"line {exc.lineno}", f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno)
        )
        return result
    except ValueError:
        # Python refuses to read an integer of more digits than sys.get_int_max_str_digits().
        long_number = re.search(rf"\d{{{sys.get_int_max_str_digits() + 1},}}", text)
        start = long_number.start() if long_number else 0
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        result.refused.append(
            Refusal(
                f"line {line}",
                f"invalid JSON: a number of more than {sys.get_int_max_str_digits()} digits",
                line=line,
                column=column,
            )
        )
        return result
    records = data if isinstance(data, list) else [data]
    for index, record in enumerate(records, start=1):
        location = f"record {index}"
        try:
            result.element_sets.append(_omm_record(record, location))
        except TLEFormatError as exc:
            norad = record.get("NORAD_CAT_ID") if isinstance(record, dict) else None
            result.refused.append(
                Refusal(
                    location,
                    exc.message,
                    norad_id=norad if type(norad) is int and 0 < norad < NORAD_LIMIT else None,
                    field=exc.field,
                )
            )
    return result


def _omm_whole_number(fields: dict, name: str, low: int, high: int) -> int:
    """An integer field of an OMM record: a JSON integer, a whole number or a string of digits."""
    value = fields[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int:
        raise TLEFormatError(f"field {name}: {str(value)[:40]!r} is not a whole number", field=name)
    if not low <= value <= high:
        raise TLEFormatError(f"field {name}: {str(value)[:40]} outside {low}-{high}", field=name)
    return value


def _omm_record(record, location: str) -> ElementSet:
    if not isinstance(record, dict):
        raise TLEFormatError(f"{location} is not an object")
    fields = {"CLASSIFICATION_TYPE": "U", "EPHEMERIS_TYPE": 0, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 0, **record}
    for name in OMM_FIELDS:
        if fields.get(name) in (None, ""):
            raise TLEFormatError(f"field {name} is missing", field=name)
    for name, (low, high) in OMM_RANGES.items():
        try:
            value = float(fields[name])
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
            raise TLEFormatError(f"field {name}: {str(fields[name])[:40]!r} is not a number", field=name) from None
        if not low <= value <= high:
            raise TLEFormatError(f"field {name}: {value:g} outside [{low:g}, {high:g}]", field=name)
    norad_id = _omm_whole_number(fields, "NORAD_CAT_ID", 1, NORAD_LIMIT - 1)
    # The widths of these TLE columns: the exporter cannot write what does not fit.
    for name, high in (("EPHEMERIS_TYPE", 9), ("ELEMENT_SET_NO", 9999), ("REV_AT_EPOCH", 99999)):
        fields[name] = _omm_whole_number(fields, name, 0, high)
    if fields["CLASSIFICATION_TYPE"] not in ("U", "C", "S"):
        raise TLEFormatError(
            f"field CLASSIFICATION_TYPE: {str(fields['CLASSIFICATION_TYPE'])[:40]!r} is not U, C or S",
            field="CLASSIFICATION_TYPE",
        )
    try:
        fields["EPOCH"] = str(fields["EPOCH"]).rstrip("Z")
        if "." not in fields["EPOCH"]:
            fields["EPOCH"] += ".0"
        epoch = datetime.strptime(fields["EPOCH"], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    except (TypeError, ValueError) as exc:
        raise TLEFormatError(f"field EPOCH unreadable: {exc}", field="EPOCH") from None
    object_name = str(fields["OBJECT_NAME"])[:80]
    check_storable(object_name, "field OBJECT_NAME", field_name="OBJECT_NAME")
    satrec = Satrec()
    try:
        omm.initialize(satrec, {k: str(v) for k, v in fields.items()})
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise TLEFormatError(f"cannot initialize SGP4: {exc}") from None
    _check_propagates(satrec)
    try:
        line1, line2 = exporter.export_tle(satrec)
    except ValueError as exc:
        raise TLEFormatError(f"cannot be written as a TLE: {exc}") from None
    # Re-read the exported lines so that propagation uses exactly what we store.
    try:
        norad_id, tle_epoch, satrec = validate_lines(line1, line2)
    except TLEFormatError as exc:
        raise TLEFormatError(f"exported as a TLE, it fails: {exc.message}") from None
    # A TLE's two-digit year covers 1957-2056 only: any other year would come back a century off.
    if abs(tle_epoch - epoch) > EPOCH_TOLERANCE:
        raise TLEFormatError(
            f"field EPOCH: {epoch:%Y-%m-%dT%H:%M:%S} cannot be stored as a TLE (years 1957-2056), "
            f"it would read back as {tle_epoch:%Y-%m-%dT%H:%M:%S}",
            field="EPOCH",
        )
    return ElementSet(norad_id, object_name, line1, line2, tle_epoch, satrec, format="omm", location=location)


def parse_omm_xml(text: str) -> ParseResult:
    """Parse OMM XML (CCSDS NDM, CelesTrak `FORMAT=xml`): one record per <segment>."""
    from xml.etree import ElementTree

    result = ParseResult()
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        result.refused.append(Refusal(f"line {line}", f"invalid XML: {exc}", line=line, column=column + 1))
        return result
    for index, segment in enumerate(root.iter("segment"), start=1):
        location = f"record {index}"
        fields = {}
        for part in ("metadata", "data/meanElements", "data/tleParameters"):
            element = segment.find(part)
            if element is not None:
                fields.update((child.tag, (child.text or "").strip()) for child in element)
        try:
            result.element_sets.append(_omm_record(fields, location))
        except TLEFormatError as exc:
            norad = fields.get("NORAD_CAT_ID", "")
            norad = int(norad) if norad.isascii() and norad.isdigit() and 0 < int(norad) < NORAD_LIMIT else None
            result.refused.append(Refusal(location, exc.message, norad_id=norad, field=exc.field))
    return result


def parse(text: str) -> ParseResult:
    """Text, OMM JSON or OMM XML, told apart by the first non-blank character."""
    stripped = text.lstrip()
    if stripped[:1] == "<":
        return parse_omm_xml(text)
    if stripped[:1] in ("[", "{"):
        return parse_omm_json(text)
    return parse_text(text)
