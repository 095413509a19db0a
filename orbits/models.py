"""Orbits: element sets (TLE history), ground stations, predicted passes and contact plans."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from missionops.models import Organization
from spacecraft.models import Spacecraft


class ElementFormat(models.TextChoices):
    TLE = "tle", "Two-line element set"
    OMM = "omm", "OMM JSON"


class TLE(models.Model):
    """One element set of a spacecraft, kept forever: the newest epoch is the current one."""

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="tles")
    norad_id = models.PositiveIntegerField()
    object_name = models.CharField(max_length=80, blank=True)
    epoch = models.DateTimeField()
    line1 = models.CharField(max_length=69)
    line2 = models.CharField(max_length=69)
    format = models.CharField(max_length=8, choices=ElementFormat.choices, default=ElementFormat.TLE)
    source = models.CharField(max_length=300, blank=True, help_text="Where it came from: file name, URL, 'api'.")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["spacecraft", "-epoch"]
        verbose_name = "TLE"
        constraints = [models.UniqueConstraint(fields=["spacecraft", "epoch"], name="one_tle_per_epoch")]
        indexes = [models.Index(fields=["spacecraft", "-epoch"], name="tle_current")]

    def __str__(self):
        return f"{self.norad_id} @ {self.epoch:%Y-%m-%d %H:%M:%S}"


class GroundStation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ground_stations")
    name = models.CharField(max_length=120)
    latitude_deg = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude_deg = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    altitude_m = models.FloatField(default=0.0, validators=[MinValueValidator(-500), MaxValueValidator(9000)])
    min_elevation_deg = models.FloatField(default=5.0, validators=[MinValueValidator(0), MaxValueValidator(89)])
    downlink_rate_bps = models.PositiveBigIntegerField(default=10_000_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="station_name_per_org"),
            models.CheckConstraint(
                condition=models.Q(latitude_deg__gte=-90, latitude_deg__lte=90), name="station_latitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(longitude_deg__gte=-180, longitude_deg__lte=180), name="station_longitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(min_elevation_deg__gte=0, min_elevation_deg__lt=90), name="station_min_el_range"
            ),
        ]

    def __str__(self):
        return self.name


class Pass(models.Model):
    """A visibility window of one spacecraft over one station, at or above the station's minimum
    elevation. `continuous` marks a spacecraft that never set within the search bounds (GEO):
    then aos/los are those bounds, not horizon crossings."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="passes")
    station = models.ForeignKey(GroundStation, on_delete=models.CASCADE, related_name="passes")
    tle = models.ForeignKey(TLE, null=True, on_delete=models.SET_NULL, related_name="+")
    aos = models.DateTimeField()
    los = models.DateTimeField()
    tca = models.DateTimeField()
    max_elevation_deg = models.FloatField()
    aos_azimuth_deg = models.FloatField()
    los_azimuth_deg = models.FloatField()
    continuous = models.BooleanField(default=False)
    started_announced = models.BooleanField(default=False)
    ended_announced = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["aos"]
        verbose_name_plural = "passes"
        indexes = [
            models.Index(fields=["organization", "aos"], name="pass_org_aos"),
            models.Index(fields=["spacecraft", "los"], name="pass_sc_los"),
            models.Index(fields=["station", "los"], name="pass_station_los"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(los__gte=models.F("aos")), name="pass_los_after_aos"),
            # A spacecraft rises over a station once at a time: a second row is a double recompute.
            models.UniqueConstraint(fields=["spacecraft", "station", "aos"], name="one_pass_per_aos"),
            # In PostgreSQL NaN sorts above every number: these ranges refuse NaN and ±Infinity.
            models.CheckConstraint(
                condition=models.Q(max_elevation_deg__gte=-90, max_elevation_deg__lte=90), name="pass_max_el_finite"
            ),
            models.CheckConstraint(
                condition=models.Q(aos_azimuth_deg__gte=0, aos_azimuth_deg__lte=360, los_azimuth_deg__gte=0)
                & models.Q(los_azimuth_deg__lte=360),
                name="pass_azimuths_finite",
            ),
        ]

    def __str__(self):
        return f"{self.spacecraft_id} over {self.station_id} {self.aos:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


class ContactPlan(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contact_plans")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # Spacecraft id -> {"priority": int, "volume_bits": int} as requested; a plan of picked passes
    # adds "passes": [pass ids] (priority 0, the volume those passes carry).
    requests = models.JSONField(default=dict)
    # One entry per request not (fully) served: {"spacecraft", "designation", "needed_bits",
    # "scheduled_bits", "reason"}.
    unserved = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="plan_end_after_start")
        ]

    def __str__(self):
        return f"plan {self.pk} {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M}"


class Contact(models.Model):
    """One scheduled use of a station by a spacecraft: what later releases queued commands."""

    plan = models.ForeignKey(ContactPlan, on_delete=models.CASCADE, related_name="contacts")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="contacts")
    station = models.ForeignKey(GroundStation, on_delete=models.CASCADE, related_name="contacts")
    pass_ref = models.ForeignKey(Pass, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    start = models.DateTimeField()
    end = models.DateTimeField()
    volume_bits = models.PositiveBigIntegerField()
    priority = models.IntegerField(default=0)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["spacecraft", "start"], name="contact_sc_start")]

    def __str__(self):
        return f"{self.spacecraft_id} at {self.station_id} {self.start:%H:%M:%S}-{self.end:%H:%M:%S}"


class CatalogueObject(models.Model):
    """One object of the public catalogue (CelesTrak / Space-Track / a file), its newest element
    set: what conjunction screening checks the organizations' spacecraft against."""

    norad_id = models.PositiveIntegerField(unique=True)
    object_name = models.CharField(max_length=80, blank=True)
    object_type = models.CharField(max_length=24, blank=True, help_text="PAYLOAD, ROCKET BODY, DEBRIS ...")
    epoch = models.DateTimeField()
    line1 = models.CharField(max_length=69)
    line2 = models.CharField(max_length=69)
    source = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["norad_id"]

    def __str__(self):
        return f"{self.norad_id} {self.object_name}".strip()


class CatalogueSync(models.Model):
    """The state of one catalogue query (a CelesTrak group, a Space-Track class): when it was
    last asked, and the validators for a conditional request next time."""

    source = models.CharField(max_length=16)  # celestrak | spacetrack
    query = models.CharField(max_length=200, help_text="GROUP=active, CATNR=25544, gp, gp_history ...")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_status = models.CharField(max_length=300, blank=True)
    objects_stored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["source", "query"]
        constraints = [models.UniqueConstraint(fields=["source", "query"], name="one_sync_per_query")]

    def __str__(self):
        return f"{self.source} {self.query}"


class Conjunction(models.Model):
    """A predicted close approach of one of an organization's spacecraft with a catalogue object."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="conjunctions")
    tle = models.ForeignKey(TLE, null=True, on_delete=models.SET_NULL, related_name="+")
    secondary_norad_id = models.PositiveIntegerField()
    secondary_name = models.CharField(max_length=80, blank=True)
    secondary_epoch = models.DateTimeField()
    tca = models.DateTimeField()
    miss_distance_km = models.FloatField()
    radial_km = models.FloatField()
    in_track_km = models.FloatField()
    cross_track_km = models.FloatField()
    relative_speed_km_s = models.FloatField()
    critical = models.BooleanField(default=False)
    screened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tca"]
        indexes = [
            models.Index(fields=["organization", "tca"], name="conjunction_org_tca"),
            models.Index(fields=["spacecraft", "tca"], name="conjunction_sc_tca"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["spacecraft", "secondary_norad_id", "tca"], name="one_conjunction_per_tca"),
            models.CheckConstraint(
                condition=models.Q(miss_distance_km__gte=0, miss_distance_km__lt=1e6), name="conjunction_miss_finite"
            ),
        ]

    def __str__(self):
        return f"{self.spacecraft_id} × {self.secondary_norad_id} {self.tca:%Y-%m-%d %H:%M:%S}"
