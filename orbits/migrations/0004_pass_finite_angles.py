"""No NaN or Infinity in a stored pass: such rows (an SGP4 failure inside a pass) are deleted,
the next recompute predicts them again correctly, and check constraints keep them out."""

from django.db import migrations, models

DELETE_NON_FINITE = """
CREATE TEMP TABLE non_finite_pass ON COMMIT DROP AS
SELECT id FROM orbits_pass
WHERE 'NaN'::float8 IN (max_elevation_deg, aos_azimuth_deg, los_azimuth_deg)
   OR abs(max_elevation_deg) = 'Infinity' OR abs(aos_azimuth_deg) = 'Infinity' OR abs(los_azimuth_deg) = 'Infinity';
UPDATE orbits_contact SET pass_ref_id = NULL WHERE pass_ref_id IN (SELECT id FROM non_finite_pass);
DELETE FROM orbits_pass WHERE id IN (SELECT id FROM non_finite_pass);
SET CONSTRAINTS ALL IMMEDIATE;
"""


class Migration(migrations.Migration):
    dependencies = [("orbits", "0003_pass_one_pass_per_aos")]

    operations = [
        migrations.RunSQL(DELETE_NON_FINITE, migrations.RunSQL.noop),
        # In PostgreSQL NaN sorts above every number: these ranges refuse NaN and ±Infinity.
        migrations.AddConstraint(
            model_name="pass",
            constraint=models.CheckConstraint(
                condition=models.Q(max_elevation_deg__gte=-90, max_elevation_deg__lte=90), name="pass_max_el_finite"
            ),
        ),
        migrations.AddConstraint(
            model_name="pass",
            constraint=models.CheckConstraint(
                condition=models.Q(aos_azimuth_deg__gte=0, aos_azimuth_deg__lte=360, los_azimuth_deg__gte=0)
                & models.Q(los_azimuth_deg__lte=360),
                name="pass_azimuths_finite",
            ),
        ),
    ]
