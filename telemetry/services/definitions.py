"""Parameter definitions, the writing side: they follow a spacecraft's current configuration
(declared) when it changes, and a parameter arriving without one is registered by ingest
(undeclared, its type inferred here: `infer_type`). The per-process cache that reads them is
`selectors.definitions_for`."""

from django.db import connection, transaction

from spacecraft.config import PARAMETER_NAME
from spacecraft.models import ParameterType, Spacecraft

from .. import selectors
from ..models import ParameterDefinition

SPEC_FIELDS = ("subsystem", "units", "warn_low", "warn_high", "crit_low", "crit_high", "expected_interval_s")
SYNC_LOCK = 7301  # advisory lock class of sync_definitions (the key is the spacecraft)


def sync_for_new_configuration(*, spacecraft: Spacecraft, **kwargs) -> None:
    """Receiver of spacecraft.signals.config_changed: definitions follow a new configuration version
    in its transaction, so reads never write (connected in TelemetryConfig.ready)."""
    sync_definitions(spacecraft=spacecraft)


def sync_definitions(*, spacecraft: Spacecraft) -> list[ParameterDefinition]:
    """Make the declared definitions match the spacecraft's current configuration. Parameters that
    left the configuration stay (their history remains) but become undeclared. Enum codes only grow
    (see ParameterDefinition.enum_codes). Idempotent, and safe to run concurrently (serialised per
    spacecraft until the caller's transaction ends)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Two requests that both saw the configuration change would insert the same rows.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SYNC_LOCK, str(spacecraft.pk)])
        config = spacecraft.current_config
        version = config.version if config else None
        parameters = config.parameters if config else {}
        # Locked: an ingest adding an enum code to one of these rows commits before we read it.
        rows = ParameterDefinition.objects.filter(spacecraft=spacecraft).order_by("pk").select_for_update()
        existing = {d.name: d for d in rows}
        for name, spec in parameters.items():
            definition = existing.get(name) or ParameterDefinition(spacecraft=spacecraft, name=name)
            definition.declared = True
            definition.type = spec.get("type", ParameterType.FLOAT)
            definition.enum_values = list(spec.get("enum_values", []))
            definition.enum_codes = with_codes(codes=definition.enum_codes, values=definition.enum_values)
            for field in SPEC_FIELDS:
                setattr(definition, field, spec.get(field, "" if field in ("subsystem", "units") else None))
            definition.config_version = version
            definition.save()
            existing[name] = definition
        for name, definition in existing.items():
            if name not in parameters and (definition.declared or definition.config_version != version):
                definition.declared = False
                definition.config_version = version
                definition.save(update_fields=["declared", "config_version"])
    return sorted(existing.values(), key=lambda d: (d.subsystem, d.name))


def with_codes(*, codes: list, values) -> list:
    """`codes` extended by the values it lacks: a code, once given, keeps its string."""
    codes = list(codes or [])
    codes.extend(value for value in dict.fromkeys(values) if value not in codes)
    return codes


def definitions_for_ingest(*, spacecraft: list[Spacecraft]) -> dict:
    """{spacecraft id: {name: ParameterDefinition}} for an ingest, syncing first any spacecraft whose
    configuration changed since its definitions were last taken from it."""
    definitions, stale = selectors.definitions_and_stale(spacecraft)
    for sc in stale:
        sync_definitions(spacecraft=sc)
    if stale:
        definitions |= selectors.reload_definitions(ids=[sc.pk for sc in stale])
    return definitions


def infer_type(value) -> str | None:
    """The type an undeclared parameter gets from its first value (None: no type fits)."""
    if isinstance(value, bool):
        return ParameterType.BOOL
    if isinstance(value, int):
        return ParameterType.INT
    if isinstance(value, float):
        return ParameterType.FLOAT
    if isinstance(value, str):
        return ParameterType.ENUM
    return None


def valid_parameter_name(name) -> bool:
    """Whether `name` may name a parameter."""
    return isinstance(name, str) and PARAMETER_NAME.match(name) is not None
