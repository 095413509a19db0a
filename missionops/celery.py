import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

app = Celery("missionops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
