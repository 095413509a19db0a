import pytest

from missionops.exceptions import DomainError
from spacecraft.config import diff_parameters, validate_parameters
from spacecraft.profiles import PROFILES


def test_every_profile_is_a_valid_configuration():
    for mission_type, parameters in PROFILES.items():
        assert validate_parameters(parameters).keys() == parameters.keys(), mission_type


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"subsystem": "warp", "units": "V"}, "parameters.v.subsystem"),
        ({"subsystem": "power", "type": "complex"}, "parameters.v.type"),
        ({"subsystem": "power", "warn_low": 5, "warn_high": 1}, "parameters.v.warn_low"),
        ({"subsystem": "power", "warn_low": 1, "crit_low": 2}, "parameters.v.crit_low"),
        ({"subsystem": "power", "warn_high": 10, "crit_high": 9}, "parameters.v.crit_high"),
        ({"subsystem": "power", "warn_low": "low"}, "parameters.v.warn_low"),
        ({"subsystem": "power", "type": "enum"}, "parameters.v.enum_values"),
        ({"subsystem": "power", "type": "bool", "warn_high": 1}, "parameters.v.warn_high"),
        ({"subsystem": "power", "colour": "red"}, "parameters.v.colour"),
        ({"subsystem": "power", "limits_by_mode": {"hyperdrive": {}}}, "parameters.v.limits_by_mode.hyperdrive"),
        ({"subsystem": "power", "warn_low": 10**400}, "parameters.v.warn_low"),  # no double holds it
        ({"subsystem": "power", "crit_high": 2**53 + 1}, "parameters.v.crit_high"),
        ({"subsystem": "power", "expected_interval_s": 10**400}, "parameters.v.expected_interval_s"),
        (
            {"subsystem": "power", "limits_by_mode": {"safe": {"warn_high": -(10**400)}}},
            "parameters.v.limits_by_mode.safe.warn_high",
        ),
    ],
)
def test_invalid_parameter_names_the_field(spec, field):
    with pytest.raises(DomainError) as error:
        validate_parameters({"v": spec})
    assert error.value.field == field


def test_bad_parameter_name_is_refused():
    with pytest.raises(DomainError) as error:
        validate_parameters({"Bus Voltage": {"subsystem": "power"}})
    assert error.value.field == "parameters.Bus Voltage"


@pytest.mark.parametrize("name", ["bus_v\n", "bus_v\r\n", "\nbus_v"])
def test_a_parameter_name_with_a_line_break_is_refused(name):
    with pytest.raises(DomainError) as error:
        validate_parameters({name: {"subsystem": "power"}})
    assert error.value.field == f"parameters.{name}"


def test_limits_of_2_to_the_53_are_accepted():
    clean = validate_parameters({"v": {"subsystem": "power", "warn_low": -(2**53), "warn_high": 2**53}})
    assert (clean["v"]["warn_low"], clean["v"]["warn_high"]) == (-(2**53), 2**53)


def test_crit_equal_to_warn_is_allowed_and_types_default_to_float():
    clean = validate_parameters({"v": {"subsystem": "power", "warn_low": 1, "crit_low": 1}})
    assert clean["v"] == {"subsystem": "power", "type": "float", "units": "", "warn_low": 1, "crit_low": 1}


def test_diff_lists_added_removed_and_changed_limits():
    old = {"a": {"subsystem": "power", "warn_high": 5}, "b": {"subsystem": "obc"}}
    new = {"a": {"subsystem": "power", "warn_high": 6}, "c": {"subsystem": "adcs"}}
    assert diff_parameters(old, new) == {
        "added": ["c"],
        "removed": ["b"],
        "changed": {"a": {"warn_high": {"from": 5, "to": 6}}},
    }
