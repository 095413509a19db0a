"""Enum samples are stored as indices; until now into `enum_values`, which a configuration change
rewrote (declaring, reordering or dropping values re-read the history). The indices move to
`enum_codes`, which only grows; existing rows start from the list their samples were stored with."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0005_rename_roll_up_schedule")]

    operations = [
        migrations.AddField(
            model_name="parameterdefinition",
            name="enum_codes",
            field=models.JSONField(blank=True, default=list, help_text="code -> string of every enum value ever stored."),
        ),
        migrations.AlterField(
            model_name="parameterdefinition",
            name="enum_values",
            field=models.JSONField(blank=True, default=list, help_text="The strings ingest accepts, in declared order."),
        ),
        migrations.RunSQL(
            "UPDATE telemetry_parameterdefinition SET enum_codes = enum_values WHERE enum_values <> '[]'::jsonb",
            migrations.RunSQL.noop,
        ),
    ]
