"""Parameter definitions: taken from a spacecraft's current configuration (declared) or registered
when a parameter first arrives without one (undeclared, type inferred)."""

from django.db.models import Max

from spacecraft.config import PARAMETER_NAME
from spacecraft.models import ConfigVersion, ParameterType, Spacecraft

from .models import ParameterDefinition

SPEC_FIELDS = ("subsystem", "units", "warn_low", "warn_high", "crit_low", "crit_high", "expected_interval_s")


def current_config_versions(spacecraft_ids) -> dict:
    rows = ConfigVersion.objects.filter(spacecraft_id__in=spacecraft_ids).values("spacecraft_id")
    return {r["spacecraft_id"]: r["v"] for r in rows.annotate(v=Max("version"))}


def synced_config_versions(spacecraft_ids) -> dict:
    rows = ParameterDefinition.objects.filter(spacecraft_id__in=spacecraft_ids).values("spacecraft_id")
    return {r["spacecraft_id"]: r["v"] for r in rows.annotate(v=Max("config_version"))}


def sync_definitions(*, spacecraft: Spacecraft) -> list[ParameterDefinition]:
    """Make the declared definitions match the spacecraft's current configuration. Parameters that
    left the configuration stay (their history remains) but become undeclared. Idempotent."""
    config = spacecraft.current_config
    version = config.version if config else None
    parameters = config.parameters if config else {}
    existing = {d.name: d for d in ParameterDefinition.objects.filter(spacecraft=spacecraft)}
    for name, spec in parameters.items():
        definition = existing.get(name) or ParameterDefinition(spacecraft=spacecraft, name=name)
        definition.declared = True
        definition.type = spec.get("type", ParameterType.FLOAT)
        definition.enum_values = list(spec.get("enum_values", []))
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


def definitions_for(spacecraft: list[Spacecraft]) -> dict:
    """{spacecraft id: {name: ParameterDefinition}}, syncing any spacecraft whose configuration
    changed since its definitions were last taken from it."""
    ids = [sc.pk for sc in spacecraft]
    current, synced = current_config_versions(ids), synced_config_versions(ids)
    for sc in spacecraft:
        if current.get(sc.pk) is not None and current.get(sc.pk) != synced.get(sc.pk):
            sync_definitions(spacecraft=sc)
    by_sc = {pk: {} for pk in ids}
    for definition in ParameterDefinition.objects.filter(spacecraft_id__in=ids):
        by_sc[definition.spacecraft_id][definition.name] = definition
    return by_sc


def infer_type(value) -> str | None:
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
    return isinstance(name, str) and PARAMETER_NAME.match(name) is not None
