"""Demo data: an organization, its users and four spacecraft, one per main profile. Idempotent."""

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from missionops.exceptions import ConflictError
from missionops.models import Organization, Role
from missionops.services import create_organization, set_membership
from spacecraft import services as spacecraft_services
from spacecraft.models import Constellation, Spacecraft
from spacecraft.profiles import PROFILES

DEMO_ORG = ("Demo Space Agency", "demo")
DEMO_PASSWORD = "missionops-demo"
DEMO_USERS = [("demo", Role.ADMIN, True), ("operator", Role.OPERATOR, False), ("viewer", Role.VIEWER, False)]
DEMO_FLEET = [
    # designation, name, mission type, NORAD id, constellation, battery %, memory %
    ("SC-001", "Aurora-1", "LEO_IMAGING", 39634, "Aurora", 86.0, 41.0),
    ("SC-002", "Meridian-7", "GNSS", 41859, "Meridian", 92.5, 12.0),
    ("SC-003", "Helios Comms", "GEO_COMMS", 40874, None, 78.0, 33.0),
    ("SC-004", "Pathfinder CubeSat", "CUBESAT", 43880, None, 64.0, 57.0),
]


FLEET_SIZE_MAX = 200
DEFAULT_FLEET_SIZE = len(DEMO_FLEET)


def demo_fleet(size: int) -> list[tuple]:
    """The four demo spacecraft and, past four, more of the same profiles (SC-005, …) with NORAD ids
    from 90005 up (orbits derives their element sets from the four's), for a fleet-sized overview."""
    fleet = list(DEMO_FLEET[: max(size, 0)])
    for number in range(len(DEMO_FLEET) + 1, size + 1):
        _, name, mission_type, _, constellation, soc, memory = DEMO_FLEET[(number - 1) % len(DEMO_FLEET)]
        soc_pct = round(max(12.0, soc - (number * 7.3) % 55), 1)
        memory_pct = round(min(95.0, memory + (number * 11.1) % 40), 1)
        fleet.append((f"SC-{number:03d}", f"{name.split()[0]} {number}", mission_type, 90000 + number,
                      constellation, soc_pct, memory_pct))  # fmt: skip
    return fleet


# Apps add their own demo data in `<app>/demo.py`: optional `add_arguments(parser)` and
# `seed(*, organization, actor, log, options, stderr)` (log(str) records one change).
DEMO_APPS = ["telemetry", "anomalies", "orbits", "jobs", "telescopes", "planning"]


def demo_modules():
    return [import_module(f"{app}.demo") for app in DEMO_APPS if find_spec(f"{app}.demo")]


class DryRun(Exception):
    pass


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo organization, users and four spacecraft."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
        parser.add_argument(
            "--fleet-size", type=int, default=len(DEMO_FLEET), help="spacecraft to seed (default 4, at most 200)"
        )
        parser.add_argument(
            "--demo-superuser",
            action="store_true",
            help="make `demo` a superuser (its password is public: refused unless DEMO_SUPERUSER_ALLOWED)",
        )
        for module in demo_modules():
            if hasattr(module, "add_arguments"):
                module.add_arguments(parser)

    def handle(self, *args, dry_run=False, fleet_size=DEFAULT_FLEET_SIZE, demo_superuser=False, **options):
        if not 1 <= fleet_size <= FLEET_SIZE_MAX:
            raise CommandError(f"--fleet-size must be between 1 and {FLEET_SIZE_MAX}, got {fleet_size}")
        if demo_superuser and not settings.DEMO_SUPERUSER_ALLOWED:
            raise CommandError(
                "--demo-superuser is refused here: set DEMO_SUPERUSER_ALLOWED=true (never in production)"
            )
        self.fleet_size = fleet_size
        self.demo_superuser = demo_superuser
        self.changes = []
        try:
            with transaction.atomic():
                org, actor = self.seed()
                for module in demo_modules():
                    module.seed(
                        organization=org, actor=actor, log=self.changes.append, options=options, stderr=self.stderr
                    )
                if dry_run:
                    raise DryRun
        except DryRun:
            pass
        prefix = "would " if dry_run else ""
        for change in self.changes:
            self.stdout.write(f"{prefix}{change}")
        if not self.changes:
            self.stdout.write("demo data already up to date")
        self.stdout.write(self.style.SUCCESS(f"demo login: demo / {DEMO_PASSWORD} (also operator, viewer)"))

    def seed(self):
        org = Organization.objects.filter(slug=DEMO_ORG[1]).first()
        if org is None:
            org = create_organization(name=DEMO_ORG[0], slug=DEMO_ORG[1])
            self.changes.append(f"create organization {org.slug}")
        user_model = get_user_model()
        admin_user = None
        for username, role, is_superuser in DEMO_USERS:
            user = user_model.objects.filter(username=username).first()
            is_superuser = is_superuser and self.demo_superuser
            if user is None:
                user = user_model(username=username, is_staff=is_superuser, is_superuser=is_superuser)
                user.set_password(DEMO_PASSWORD)
                user.save()
                self.changes.append(f"create user {username}")
            current = user.memberships.filter(organization=org).first()
            if current is None or current.role != role:
                set_membership(organization=org, user=user, role=role)
                self.changes.append(f"make {username} {role} of {org.slug}")
            admin_user = admin_user or user
        for designation, name, mission_type, norad_id, constellation_name, soc, memory in tqdm(
            demo_fleet(getattr(self, "fleet_size", DEFAULT_FLEET_SIZE)),
            desc="spacecraft",
            unit="sc",
            file=self.stderr,
            disable=None,
        ):
            self.seed_spacecraft(
                org, admin_user, designation, name, mission_type, norad_id, constellation_name, soc, memory
            )
        return org, admin_user

    def seed_spacecraft(self, org, actor, designation, name, mission_type, norad_id, constellation_name, soc, memory):
        constellation = None
        if constellation_name:
            constellation = Constellation.objects.filter(organization=org, name=constellation_name).first()
            if constellation is None:
                constellation = spacecraft_services.create_constellation(
                    organization=org, name=constellation_name, actor=actor
                )
                self.changes.append(f"create constellation {constellation_name}")
        spacecraft = Spacecraft.objects.filter(organization=org, designation=designation).first()
        if spacecraft is None:
            spacecraft = spacecraft_services.create_spacecraft(
                organization=org,
                actor=actor,
                designation=designation,
                name=name,
                mission_type=mission_type,
                norad_id=norad_id,
                constellation=constellation,
                parameters=PROFILES[mission_type],
            )
            spacecraft_services.update_state(
                spacecraft=spacecraft, actor=actor, battery_soc_pct=soc, memory_used_pct=memory
            )
            self.changes.append(f"create spacecraft {designation} ({mission_type})")
            return
        try:
            spacecraft_services.change_config(
                spacecraft=spacecraft, parameters=PROFILES[mission_type], actor=actor, note="seed_demo profile"
            )
            self.changes.append(f"update {designation} configuration to the {mission_type} profile")
        except ConflictError:
            pass  # already the profile
