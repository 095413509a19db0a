"""Settings for bench/jobs.py rounds that measure the queue without live socket pushes."""

from missionops.settings import *  # noqa: F403

JOBS_LIVE_PUBLISH = False
