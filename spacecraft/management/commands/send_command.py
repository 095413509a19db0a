"""Queue a telecommand from the shell: send_command SC-001 capture_image exposure_ms=20 --org demo --user operator"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from missionops.exceptions import DomainError
from spacecraft import selectors, services
from spacecraft.models import ReleaseMode


def parse_arg(text: str):
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise CommandError(f"arguments are name=value, got {text!r}")
    try:
        return name, json.loads(raw)  # numbers, true/false, "quoted strings"
    except json.JSONDecodeError:
        return name, raw  # a bare word is a string


class Command(BaseCommand):
    help = "Queue a command for a spacecraft (as a user who may operate it)."

    def add_arguments(self, parser):
        parser.add_argument("designation")
        parser.add_argument("command")
        parser.add_argument(
            "command_args", nargs="*", metavar="name=value", help='name=value (JSON values: 20, true, "text")'
        )
        parser.add_argument("--user", required=True, help="the operator on whose behalf the command is queued")
        parser.add_argument("--org", help="organization slug (when the user belongs to several)")
        parser.add_argument("--priority", type=int, default=5)
        parser.add_argument("--at-next-contact", action="store_true", help="release at the next scheduled contact")

    def handle(self, *, designation, command, command_args, user, org, priority, at_next_contact, **options):
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"no user {user!r}")
        candidates = selectors.spacecraft_visible_to(actor).filter(designation=designation)
        if org:
            candidates = candidates.filter(organization__slug=org)
        spacecraft = list(candidates[:2])
        if len(spacecraft) != 1:
            raise CommandError(f"{user} sees {len(spacecraft)} spacecraft {designation!r}; give --org")
        if not selectors.can_operate(actor, spacecraft[0]):
            raise CommandError(f"{user} may not operate {designation}")
        try:
            queued = services.create_command(
                spacecraft=spacecraft[0],
                name=command,
                args=dict(parse_arg(a) for a in command_args),
                actor=actor,
                priority=priority,
                release_mode=ReleaseMode.NEXT_CONTACT if at_next_contact else ReleaseMode.IMMEDIATE,
            )
        except DomainError as error:
            raise CommandError(f"{error.field}: {error.message}" if error.field else error.message) from error
        self.stdout.write(
            f"command {queued.pk} {queued.name} {queued.state}"
            + (" (awaiting a second operator's approval)" if queued.awaiting_approval else "")
        )
