import pytest

from missionops.models import Event
from telescopes import discovery
from telescopes.exceptions import DiscoveryError, TelescopeError
from telescopes.models import AlpacaDevice, DeviceType
from telescopes.services import add_device, discover_devices, update_observatory

pytestmark = pytest.mark.django_db


def test_udp_discovery_to_configured_host_then_probe_registers_all_ten(observatory, discovery_responder, simulator):
    update_observatory(observatory=observatory, discovery_hosts=f"127.0.0.1:{discovery_responder.port}")
    report = discover_devices(observatory=observatory, timeout_s=0.5)
    assert discovery_responder.queries >= 1
    assert report.servers == [f"127.0.0.1:{simulator.port}"]
    devices = AlpacaDevice.objects.filter(observatory=observatory)
    assert sorted(devices.values_list("device_type", flat=True)) == sorted(DeviceType.values)
    telescope = devices.get(device_type="telescope")
    assert (telescope.host, telescope.port, telescope.device_number, telescope.name) == (
        "127.0.0.1",
        simulator.port,
        0,
        "Simulator Telescope",
    )
    assert telescope.unique_id == f"127.0.0.1:{simulator.port}/telescope/0"
    assert Event.objects.filter(kind="telescope.device.registered").count() == 10
    assert Event.objects.filter(kind="telescope.discovery").count() == 1

    again = discover_devices(observatory=observatory, timeout_s=0.5)  # idempotent
    assert again.registered == [] and len(again.known) == 10
    assert devices.count() == 10


def test_discovery_reaches_only_configured_targets(observatory, discovery_responder):
    """Nothing configured: refused, nothing sent (never a broadcast on every interface)."""
    with pytest.raises(DiscoveryError, match="nothing to discover on"):
        discover_devices(observatory=observatory)
    assert discovery_responder.queries == 0


def test_discovery_with_silent_target_finds_nothing(observatory):
    from missionops.testing import free_port

    report = discover_devices(observatory=observatory, extra_targets=f"127.0.0.1:{free_port()}", timeout_s=0.3)
    assert report.servers == [] and report.registered == []


def test_interface_config_resolves_loopback_broadcast_or_refuses_unknown():
    assert discovery.interface_broadcasts("lo")  # 127.255.255.255
    with pytest.raises(discovery.DiscoveryConfigError, match="no network interface"):
        discovery.interface_broadcasts("no-such-if0")


def test_parse_targets():
    assert discovery.parse_targets("10.0.0.5, 10.0.0.255:4000 [::1]:5000") == [
        ("10.0.0.5", 32227),
        ("10.0.0.255", 4000),
        ("::1", 5000),
    ]
    with pytest.raises(discovery.DiscoveryConfigError):
        discovery.parse_targets("host:99999")


def test_bad_discovery_hosts_refused_on_save(observatory):
    with pytest.raises(TelescopeError) as error:
        update_observatory(observatory=observatory, discovery_hosts="host:99999")
    assert error.value.field == "discovery_hosts"


def test_add_device_by_hand(observatory, simulator):
    device = add_device(observatory=observatory, host="127.0.0.1", port=simulator.port, device_type="focuser")
    assert device.name == "Simulator Focuser"
    with pytest.raises(TelescopeError, match="registered already"):
        add_device(observatory=observatory, host="127.0.0.1", port=simulator.port, device_type="focuser")
    with pytest.raises(TelescopeError, match="no Alpaca camera number 3 answers"):
        add_device(
            observatory=observatory, host="127.0.0.1", port=simulator.port, device_type="camera", device_number=3
        )
    assert observatory.devices.count() == 1
