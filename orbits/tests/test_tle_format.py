import json

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
