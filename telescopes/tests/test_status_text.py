from telescopes.status_text import status_words


def test_camera_state_in_words():
    assert status_words({"connected": True, "camerastate": 2, "ccdtemperature": -10.04, "imageready": False}) == (
        "connected · exposing · −10.0 °C CCD"
    )


def test_telescope_pointing_and_flags():
    words = status_words(
        {"connected": True, "atpark": False, "slewing": True, "tracking": True, "altitude": 45.123, "azimuth": 120.5}
    )
    assert words == "connected · slewing · tracking · Alt 45.12° Az 120.50°"


def test_not_connected_dome_and_safety():
    assert status_words({"connected": False, "shutterstatus": 1, "atpark": True}) == (
        "not connected · shutter closed · parked"
    )
    assert status_words({"connected": True, "issafe": False}) == "connected · unsafe"


def test_nothing_read_and_unknown_enum_values():
    assert status_words({}) == ""
    assert status_words({"connected": True, "camerastate": 9}) == "connected"
