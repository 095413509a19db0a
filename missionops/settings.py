"""MissionOps settings: everything that differs between machines comes from the environment."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    DATABASE_URL=(str, "postgres://postgres@127.0.0.1:5432/missionops"),
    REDIS_URL=(str, "redis://127.0.0.1:6379/0"),
    CHANNELS_PREFIX=(str, "missionops"),
    SAFE_MODE_SOC_PCT=(float, 20.0),
    SURVIVAL_MODE_SOC_PCT=(float, 10.0),
    CELERY_TASK_ALWAYS_EAGER=(bool, False),
)
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "guardian",
    "django_celery_beat",
    "axes",
    "django_prometheus",
    "missionops",
    "spacecraft",
    "telemetry",
    "anomalies",
    "orbits",
    "jobs",
    "telescopes",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "missionops.middleware.RequestIdMiddleware",
    "missionops.middleware.RejectNulBytesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "missionops.middleware.DatabaseUnavailableMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "missionops.urls"
ASGI_APPLICATION = "missionops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_missionops")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
# Shared by every process: throttle counters and short-lived coordination.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_PREFIX", default="missionops"),
    }
}

# Failed-login lockout (django-axes): 5 failures for a username from one address lock it out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Production hardening (python manage.py check --deploy is clean with DEBUG=false + HTTPS=true).
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Everything the dashboard loads is served by us (no CDN); inline scripts are the page glue.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
    }
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # failed-login lockout, checked first
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "spacecraft:fleet"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ too, so a fresh checkout works before collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BASE_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "missionops.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "missionops.authentication.ApiKeyScope",
    ],
    # Per key / per user; the ingest scope is generous, everything else sane (429 + Retry-After).
    "DEFAULT_THROTTLE_CLASSES": ["missionops.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "read": env("THROTTLE_READ", default="1200/min"),
        "operate": env("THROTTLE_OPERATE", default="300/min"),
        "ingest": env("THROTTLE_INGEST", default="6000/min"),
        "admin": env("THROTTLE_ADMIN", default="120/min"),
        "anon": env("THROTTLE_ANON", default="60/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["missionops.filters.ScopedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "missionops.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MissionOps API",
    "DESCRIPTION": "Spacecraft fleet, telemetry, anomalies, orbits, jobs and telescopes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"SpacecraftModeEnum": "spacecraft.models.Mode"},
}

CHANNEL_LAYERS = {
    "default": {
        # Pub/sub layer: ~6x the group throughput of RedisChannelLayer on this machine (DESIGN.md).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # The default pool (100) starves under many sockets: raise it (DESIGN.md).
        "CONFIG": {
            "hosts": [
                {"address": REDIS_URL, "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000)}
            ],
            "prefix": env("CHANNELS_PREFIX"),
        },
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env("CELERY_TASK_ALWAYS_EAGER")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Mode rules: below these battery states of charge a spacecraft is forced into safe / survival.
# Per-spacecraft thresholds override them; these are the defaults for new spacecraft.
SAFE_MODE_SOC_PCT = env("SAFE_MODE_SOC_PCT")
SURVIVAL_MODE_SOC_PCT = env("SURVIVAL_MODE_SOC_PCT")

METRICS_TOKEN = env("METRICS_TOKEN", default="")  # empty: /metrics answers loopback only
HEALTH_CHECK_TIMEOUT_S = env.float("HEALTH_CHECK_TIMEOUT_S", default=1.0)

# Telemetry (the code has these defaults; listed here so they are discoverable).
TELEMETRY_MAX_BODY_BYTES = env.int("TELEMETRY_MAX_BODY_BYTES", default=8 * 1024 * 1024)
TELEMETRY_LIVE_INTERVAL_S = env.float("TELEMETRY_LIVE_INTERVAL_S", default=0.25)
TELEMETRY_RAW_RETENTION_DAYS = env.int("TELEMETRY_RAW_RETENTION_DAYS", default=30)
TELEMETRY_PARTITIONS_AHEAD_DAYS = env.int("TELEMETRY_PARTITIONS_AHEAD_DAYS", default=7)
TELEMETRY_STALE_AFTER_S = env.float("TELEMETRY_STALE_AFTER_S", default=30.0)
TELEMETRY_MAX_FUTURE_S = env.float("TELEMETRY_MAX_FUTURE_S", default=3600.0)
TELEMETRY_ROLLUP_MIN_BUCKET_S = env.int("TELEMETRY_ROLLUP_MIN_BUCKET_S", default=60)

# Jobs (GPU queue): with no NVML device the inventory is simulated and marked so.
JOBS_SIMULATED_GPUS = env.int("JOBS_SIMULATED_GPUS", default=2)
JOBS_GPU_BACKEND = env("JOBS_GPU_BACKEND", default="auto")  # auto | simulated
JOBS_RETRY_BACKOFF_S = env.float("JOBS_RETRY_BACKOFF_S", default=5.0)
JOBS_RETRY_BACKOFF_MAX_S = env.float("JOBS_RETRY_BACKOFF_MAX_S", default=600.0)
JOBS_TILE_INPUT_MAX_BYTES = env.int("JOBS_TILE_INPUT_MAX_BYTES", default=160 * 1024 * 1024)  # one uploaded .npz

# Anomalies: samples older than ANOMALY_LATE_AFTER_S are backfill (recorded, never paged).
ANOMALY_LATE_AFTER_S = env.float("ANOMALY_LATE_AFTER_S", default=300.0)
ANOMALY_ESCALATE_AFTER_S = env.float("ANOMALY_ESCALATE_AFTER_S", default=900.0)
ANOMALY_ON_CALL_EMAILS = env.list("ANOMALY_ON_CALL_EMAILS", default=[])
# Alarm management (ISA-18.2): off-delay, chattering, flood, out-of-contact (README "Alarms").
ANOMALY_OFF_DELAY_S = env.float("ANOMALY_OFF_DELAY_S", default=900.0)
ANOMALY_CHATTER_COUNT = env.int("ANOMALY_CHATTER_COUNT", default=3)
ANOMALY_CHATTER_WINDOW_S = env.float("ANOMALY_CHATTER_WINDOW_S", default=600.0)
ANOMALY_FLOOD_ALARMS = env.int("ANOMALY_FLOOD_ALARMS", default=10)
ANOMALY_FLOOD_WINDOW_S = env.float("ANOMALY_FLOOD_WINDOW_S", default=600.0)
ANOMALY_CONTACT_LOST_S = env.float("ANOMALY_CONTACT_LOST_S", default=120.0)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="missionops@localhost")

# MQTT broker (telemetry bridge, telescope status).
MQTT_HOST = env("MQTT_HOST", default="127.0.0.1")
MQTT_PORT = env.int("MQTT_PORT", default=1883)

# Webhooks: retry n waits WEBHOOK_RETRY_BASE_S * 2**(n-1); after WEBHOOK_MAX_ATTEMPTS a delivery
# fails; WEBHOOK_DISABLE_AFTER failed deliveries in a row disable the webhook.
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
WEBHOOK_RETRY_BASE_S = env.float("WEBHOOK_RETRY_BASE_S", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "missionops.middleware.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "missionops.middleware.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),  # "json" in production
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
