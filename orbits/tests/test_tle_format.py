import json

import pytest
from sgp4 import exporter

from orbits import tle_format

from .conftest import ISS_TLE


def test_three_line_and_two_line_sets_parse():
    result = tle_format.parse(ISS_TLE + "\n".join(ISS_TLE.splitlines()[1:]))
    assert not result.refused
    assert [e.object_name for e in result.element_sets] == ["ISS (ZARYA)", ""]
    assert result.element_sets[0].norad_id == 25544
    assert result.element_sets[0].epoch.isoformat().startswith("2008-09-20T12:25:40")


def test_bad_checksum_names_line_and_column_and_keeps_the_rest(mixed_tle_text):
    lines = mixed_tle_text.splitlines()
    lines[4] = lines[4][:68] + str((int(lines[4][68]) + 1) % 10)  # ISS-like line 2
    result = tle_format.parse("\n".join(lines))
    assert len(result.element_sets) == 4
    (refusal,) = result.refused
    assert refusal.line == 5 and refusal.column == 69
    assert "line 5, column 69: checksum" in refusal.reason
    assert refusal.norad_id == 90002


def test_field_range_and_structure_errors():
    line1, line2 = ISS_TLE.splitlines()[1:]
    bad_incl = line2[:8] + "191.0000" + line2[16:68]
    bad_incl += str(tle_format.checksum(bad_incl))
    result = tle_format.parse(f"{line1}\n{bad_incl}")
    assert "inclination" in result.refused[0].reason and result.refused[0].column == 9
    other = line2[:2] + "25545" + line2[7:68]
    other += str(tle_format.checksum(other))
    assert "differs from line 1" in tle_format.parse(f"{line1}\n{other}").refused[0].reason
    assert "has 40 characters" in tle_format.parse(f"{line1[:40]}\n{line2}").refused[0].reason
    orphan = tle_format.parse(f"{line2}\n{line1}")
    assert [r.reason for r in orphan.refused] == [
        "line 2 without a line 1 before it",
        "line 1 is not followed by a line 2",
    ]


def test_omm_json_good_and_bad_records():
    sat = tle_format.parse(ISS_TLE).element_sets[0].satrec
    record = exporter.export_omm(sat, "ISS (ZARYA)")
    result = tle_format.parse(json.dumps([record, {**record, "ECCENTRICITY": 1.5}, {"OBJECT_NAME": "X"}]))
    assert [e.norad_id for e in result.element_sets] == [25544]
    assert result.element_sets[0].line1 == ISS_TLE.splitlines()[1]
    assert [r.location for r in result.refused] == ["record 2", "record 3"]
    assert "ECCENTRICITY" in result.refused[0].reason and "missing" in result.refused[1].reason
    assert "invalid JSON" in tle_format.parse("[{").refused[0].reason


def _omm(**changes) -> dict:
    sat = tle_format.parse(ISS_TLE).element_sets[0].satrec
    return {**exporter.export_omm(sat, "ISS (ZARYA)"), **changes}


@pytest.mark.parametrize("year", [2060, 2099, 1950])
def test_omm_epoch_a_tle_cannot_carry_is_refused_not_moved_a_century(year):
    record = _omm(EPOCH=f"{year}-03-20T06:00:00.000000")
    result = tle_format.parse(json.dumps([_omm(), record]))
    assert [e.epoch.year for e in result.element_sets] == [2008]
    (refusal,) = result.refused
    assert refusal.location == "record 2" and refusal.field == "EPOCH"
    assert f"{year}-03-20" in refusal.reason and "1957-2056" in refusal.reason


def test_omm_epochs_at_the_ends_of_the_tle_century_are_kept():
    result = tle_format.parse(json.dumps([_omm(EPOCH="1957-10-04T19:28:34"), _omm(EPOCH="2056-12-31T23:00:00")]))
    assert [e.epoch.year for e in result.element_sets] == [1957, 2056] and not result.refused


def test_tle_exponent_field_of_one_character_is_refused_at_its_column():
    line1, line2 = ISS_TLE.splitlines()[1:]
    short = line1[:44] + "       5" + line1[52:68]
    short += str(tle_format.checksum(short))
    (refusal,) = tle_format.parse(f"{short}\n{line2}").refused
    assert refusal.line == 1 and refusal.column == 45 and "second derivative" in refusal.reason


HUGE = "1" * 5000


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (json.dumps([_omm(MEAN_MOTION=10**400)]), "MEAN_MOTION"),
        (json.dumps([_omm()]).replace('"NORAD_CAT_ID": 25544', '"NORAD_CAT_ID": 1e400'), "NORAD_CAT_ID"),
        (json.dumps([_omm(NORAD_CAT_ID=25544.5)]), "NORAD_CAT_ID"),
        (json.dumps([_omm(ELEMENT_SET_NO=10**30)]), "ELEMENT_SET_NO"),
        (json.dumps([_omm(REV_AT_EPOCH=-(10**30))]), "REV_AT_EPOCH"),
        (json.dumps([_omm(EPHEMERIS_TYPE=12)]), "EPHEMERIS_TYPE"),
        (json.dumps([_omm(CLASSIFICATION_TYPE=[])]), "CLASSIFICATION_TYPE"),
        (json.dumps([_omm(OBJECT_NAME="\ud800")]), "OBJECT_NAME"),
        (json.dumps([_omm(OBJECT_NAME="IS\x00S")]), "OBJECT_NAME"),
    ],
)
def test_odd_omm_values_are_refused_naming_the_field(text, field):
    result = tle_format.parse(text)
    assert not result.element_sets
    (refusal,) = result.refused
    assert refusal.location == "record 1" and refusal.field == field and field in refusal.reason


def test_omm_integer_of_more_than_4300_digits_is_refused_at_its_line_and_column():
    text = json.dumps([_omm()], indent=1).replace('"NORAD_CAT_ID": 25544', f'"NORAD_CAT_ID": {HUGE}')
    (refusal,) = tle_format.parse(text).refused
    line = next(i for i, row in enumerate(text.splitlines(), 1) if HUGE in row)
    assert refusal.line == line and refusal.column == text.splitlines()[line - 1].index(HUGE) + 1
    assert "4300 digits" in refusal.reason


@pytest.mark.parametrize("name", ["IS\x00S", "IS\ud800S"])
def test_tle_name_that_cannot_be_stored_refuses_its_set(name):
    result = tle_format.parse(ISS_TLE.replace("ISS (ZARYA)", name) + ISS_TLE)
    assert [e.object_name for e in result.element_sets] == ["ISS (ZARYA)"]
    (refusal,) = result.refused
    assert refusal.location == "lines 1-3" and refusal.line == 1 and refusal.column == 3


def test_tle_line_with_a_control_character_is_refused_at_its_column():
    name, line1, line2 = ISS_TLE.splitlines()
    nul = line1[:14] + "\x00" + line1[15:]  # in the international designator, not checksummed
    (refusal,) = tle_format.parse(f"{name}\n{nul}\n{line2}").refused
    assert refusal.line == 2 and refusal.column == 15 and "control character" in refusal.reason
