"""What the spacecraft app announces to the apps above it (they connect in their AppConfig.ready)."""

from django.dispatch import Signal

# A command ran on board (simulated), inside its transaction: kwargs spacecraft, runtime (the
# on-board state after it). The telemetry app stores what the on-board software reports then.
command_executed = Signal()

# A new configuration version was stored, inside its transaction: kwargs spacecraft, version. The
# telemetry app syncs the parameter definitions from it.
config_changed = Signal()
