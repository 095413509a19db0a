"""MissionOps settings: everything that differs between machines comes from the environment."""

from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

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

DEBUG = env("DEBUG")
# No key, no start (outside DEBUG): a hard-coded key would sign every session of every install.
# `make services` (run by `make run` / `make test`) writes a random one to .env.
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set: set it in the environment or .env (DEBUG is false)")
    SECRET_KEY = "dev-only-insecure-key-debug-true-0123456789abcdef"
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
    "django_prometheus",
    "missionops",
    "spacecraft",
    "telemetry",
    "anomalies",
    "orbits",
    "jobs",
    "telescopes",
    "console",
    "planning",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "missionops.middleware.RequestIdMiddleware",
    "missionops.middleware.RejectNulBytesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # before WhiteNoise: static files too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "missionops.throttling.LoginLockoutMiddleware",
    "missionops.middleware.DatabaseUnavailableMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "missionops.urls"
ASGI_APPLICATION = "missionops.asgi.application"
# Apps' WebSocket routes, after the platform's /ws/live/ (missionops.routing).
WEBSOCKET_ROUTES = ["telemetry.routing.websocket_urlpatterns"]

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
# Connection pool per process (docs/guide.md "Database connections"): each request's sync view has a
# thread and a connection of its own; requests beyond the pool wait, past DB_POOL_TIMEOUT_S a 503.
# Keep processes x max_size under max_connections. DB_POOL=false: CONN_MAX_AGE applies.
DB_POOL = env.bool("DB_POOL", default=True)
DB_POOL_OPTIONS = {
    "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
    "max_size": env.int("DB_POOL_MAX_SIZE", default=16),
    "timeout": env.float("DB_POOL_TIMEOUT_S", default=3.0),
    "max_idle": env.float("DB_POOL_MAX_IDLE_S", default=300.0),
}
if DB_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not as well
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection before lending it
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = dict(DB_POOL_OPTIONS)
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

# Sign-in lockout (atomic in Redis): LOGIN_FAILURE_LIMIT failures per username and address lock it out.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_S = env.int("LOGIN_LOCKOUT_S", default=900)

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
# Everything is served by us (no CDN); inline scripts only with the per-response nonce; sockets and
# fetches to our own origin only ('self' covers ws:/wss:). Inline style attributes stay allowed.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # ReDoc renders in a worker made from a blob
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
    }
}

AUTHENTICATION_BACKENDS = [
    "missionops.throttling.LoginAttemptLimitBackend",  # sign-in lockout, checked first
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
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
        "missionops.api_authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "missionops.api_authentication.ApiKeyScope",
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
    "DEFAULT_SCHEMA_CLASS": "missionops.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["missionops.filters.ScopedFilterBackend"],
    # JSON bodies: at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413) and API_MAX_JSON_DEPTH levels (400).
    "DEFAULT_PARSER_CLASSES": [
        "missionops.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "missionops.api_pagination.StrictLimitOffsetPagination",
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
    # Every operation's error answers (400/401/403/404/409/413/415/429/503) with the real error body.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "missionops.openapi.add_error_responses",
    ],
    # ReDoc in the dashboard's dark palette, in system fonts (no web font is fetched).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "colors": {
                "primary": {"main": "#6cb4ff"},
                "text": {"primary": "#e3e8ee", "secondary": "#aab6c3"},
                "border": {"dark": "#2b3540", "light": "#2b3540"},
                "http": {"get": "#2e9e5b", "post": "#1f6feb", "put": "#d79b1d", "delete": "#d64545"},
            },
            "typography": {
                "fontFamily": "system-ui, sans-serif",
                "headings": {"fontFamily": "system-ui, sans-serif"},
                "code": {"fontFamily": "ui-monospace, monospace", "backgroundColor": "#1a2129", "color": "#e3e8ee"},
                "links": {"color": "#6cb4ff"},
            },
            "sidebar": {"backgroundColor": "#1a2129", "textColor": "#e3e8ee"},
            "rightPanel": {"backgroundColor": "#0b0f14", "textColor": "#e3e8ee"},
            "schema": {"nestedBackground": "#151b22", "typeNameColor": "#aab6c3", "linesColor": "#2b3540"},
        }
    },
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
# Survive a Redis restart: reconnect for ever (never exit), notice a dead socket within seconds,
# and let a task that was running when the connection dropped be redelivered (acks_late tasks).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 10
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 10

# Mode rules: below these battery states of charge (defaults; per spacecraft overrides) safe / survival.
SAFE_MODE_SOC_PCT = env("SAFE_MODE_SOC_PCT")
SURVIVAL_MODE_SOC_PCT = env("SURVIVAL_MODE_SOC_PCT")

# /metrics answers `Authorization: Bearer $METRICS_TOKEN`; without a token it answers nobody
# unless METRICS_ALLOW_LOOPBACK=true opens it to loopback clients (`make run` does, for Prometheus).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOW_LOOPBACK = env.bool("METRICS_ALLOW_LOOPBACK", default=False)
# seed_demo --demo-superuser (a superuser whose password is in the README) only where allowed.
DEMO_SUPERUSER_ALLOWED = env.bool("DEMO_SUPERUSER_ALLOWED", default=DEBUG)
HEALTH_CHECK_TIMEOUT_S = env.float("HEALTH_CHECK_TIMEOUT_S", default=1.0)
# The Redis key of the component registry; empty: one per channel prefix (missionops.health).
HEALTH_REGISTRY_KEY = env("HEALTH_REGISTRY_KEY", default="") or None
# A site that ingests no MQTT turns this off; otherwise /health/ is Degraded while no bridge is alive.
HEALTH_EXPECT_MQTT_BRIDGE = env.bool("HEALTH_EXPECT_MQTT_BRIDGE", default=True)

# Telemetry (the code has these defaults; listed here so they are discoverable).
TELEMETRY_MAX_BODY_BYTES = env.int("TELEMETRY_MAX_BODY_BYTES", default=8 * 1024 * 1024)
# daphne's WebSocket limits (runserver reads these; the Procfile passes the same as flags): twice the
# ingest limit, so a frame up to it reaches /ws/ingest/, which answers an oversized one with a 413.
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = 2 * TELEMETRY_MAX_BODY_BYTES
TELEMETRY_LIVE_INTERVAL_S = env.float("TELEMETRY_LIVE_INTERVAL_S", default=0.05)
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
# false in benchmarks that measure the queue without the live path (bench/jobs_settings.py).
JOBS_LIVE_PUBLISH = env.bool("JOBS_LIVE_PUBLISH", default=True)
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
# The sweep: how far back it analyses played-back samples, how far back it looks for unanalysed
# arrivals, and how long it lets a batch settle before it analyses it.
ANOMALY_SWEEP_HISTORY_S = env.float("ANOMALY_SWEEP_HISTORY_S", default=900.0)
ANOMALY_SWEEP_LOOKBACK_S = env.float("ANOMALY_SWEEP_LOOKBACK_S", default=900.0)
ANOMALY_SWEEP_SETTLE_S = env.float("ANOMALY_SWEEP_SETTLE_S", default=5.0)
ANOMALY_MAIL_FROM = env("ANOMALY_MAIL_FROM", default="")  # empty: DEFAULT_FROM_EMAIL
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
WEBHOOK_RETRY_MAX_S = env.float("WEBHOOK_RETRY_MAX_S", default=3600.0)  # the backoff's cap
# The reconciliation sweep re-queues deliveries still pending this long after they were due.
WEBHOOK_STALE_AFTER_S = env.float("WEBHOOK_STALE_AFTER_S", default=120.0)

# Outbound HTTP (missionops.outbound): only public addresses, plus these networks (CIDR, comma-
# separated), e.g. the LAN of the Alpaca telescopes. Empty by default; tests allow 127.0.0.1.
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])

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

# API keys are cached per process this long at most (a change to a key row is seen at once).
API_KEY_CACHE_S = env.float("API_KEY_CACHE_S", default=60.0)
# Orbits: element-set age (days from the epoch to the time predicted). Past WARN a prediction
# carries a warning; past MAX it is refused unless allow_stale is asked for. LEO: period < 128 min.
ORBITS_ELEMENT_WARN_AGE_DAYS_LEO = env.float("ORBITS_ELEMENT_WARN_AGE_DAYS_LEO", default=14.0)
ORBITS_ELEMENT_MAX_AGE_DAYS_LEO = env.float("ORBITS_ELEMENT_MAX_AGE_DAYS_LEO", default=60.0)
ORBITS_ELEMENT_WARN_AGE_DAYS = env.float("ORBITS_ELEMENT_WARN_AGE_DAYS", default=30.0)
ORBITS_ELEMENT_MAX_AGE_DAYS = env.float("ORBITS_ELEMENT_MAX_AGE_DAYS", default=180.0)
# Orbits: conjunction screening (km, days) and the catalogue sources (CelesTrak GP, Space-Track).
ORBITS_CONJUNCTION_THRESHOLD_KM = env.float("ORBITS_CONJUNCTION_THRESHOLD_KM", default=5.0)
ORBITS_CONJUNCTION_CRITICAL_KM = env.float("ORBITS_CONJUNCTION_CRITICAL_KM", default=1.0)
ORBITS_CONJUNCTION_DAYS = env.float("ORBITS_CONJUNCTION_DAYS", default=7.0)
# Event stream (missionops.services.event_stream): with NATS_URL set, every event is written to an outbox in
# its own transaction and relayed to the JetStream stream NATS_STREAM as `<prefix>.<org>.<kind>`.
NATS_URL = env("NATS_URL", default="")  # empty: no outbox, no stream
NATS_STREAM = env("NATS_STREAM", default="MISSIONOPS_EVENTS")
NATS_SUBJECT_PREFIX = env("NATS_SUBJECT_PREFIX", default="missionops")
NATS_DUPLICATE_WINDOW_S = env.float("NATS_DUPLICATE_WINDOW_S", default=7200.0)  # a relay resumes within it
NATS_RELAY_BATCH = env.int("NATS_RELAY_BATCH", default=500)
NATS_TELEMETRY_MIRROR = env.bool("NATS_TELEMETRY_MIRROR", default=False)  # a stream per spacecraft

# Read replica (missionops.replicas): lag-tolerant reads (series, exports, event lists) go to it
# while its replay lag is under REPLICA_MAX_LAG_S and it has replayed the reader's own last write.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
REPLICA_MAX_LAG_S = env.float("REPLICA_MAX_LAG_S", default=5.0)
REPLICA_STATE_TTL_S = env.float("REPLICA_STATE_TTL_S", default=0.5)  # how long a lag reading is reused
REPLICA_CONNECT_TIMEOUT_S = env.int("REPLICA_CONNECT_TIMEOUT_S", default=2)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"].get("CONN_HEALTH_CHECKS", False),
        "OPTIONS": {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S},
        "TEST": {"MIRROR": "default"},
    }
    if DB_POOL:
        # A read waits for a replica connection no longer than for a replica host that does not answer.
        DATABASES["replica"]["OPTIONS"]["pool"] = {**DB_POOL_OPTIONS, "timeout": float(REPLICA_CONNECT_TIMEOUT_S)}
    DATABASE_ROUTERS = ["missionops.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "missionops.replicas.ReadYourWritesMiddleware",
    )
# Mission planning: the oldest element set (days from its epoch) access windows are predicted from.
PLANNING_MAX_ELEMENT_AGE_DAYS = env.float("PLANNING_MAX_ELEMENT_AGE_DAYS", default=60.0)
# Orbits: catalogue sync sources (CelesTrak GP, Space-Track) and their rate limit.
ORBITS_CELESTRAK_GP_URL = env("ORBITS_CELESTRAK_GP_URL", default="https://celestrak.org/NORAD/elements/gp.php")
ORBITS_CELESTRAK_GROUPS = env.list("ORBITS_CELESTRAK_GROUPS", default=["active"])
ORBITS_SPACETRACK_URL = env("ORBITS_SPACETRACK_URL", default="https://www.space-track.org")
ORBITS_SPACETRACK_IDENTITY = env("ORBITS_SPACETRACK_IDENTITY", default="")
ORBITS_SPACETRACK_PASSWORD = env("ORBITS_SPACETRACK_PASSWORD", default="")
ORBITS_CATALOGUE_MIN_INTERVAL_S = env.float("ORBITS_CATALOGUE_MIN_INTERVAL_S", default=7200.0)
ORBITS_CATALOGUE_TIMEOUT_S = env.float("ORBITS_CATALOGUE_TIMEOUT_S", default=60.0)
# Space-Track's published limits, counted in Redis for every worker and command together.
ORBITS_SPACETRACK_REQUESTS_PER_MINUTE = env.int("ORBITS_SPACETRACK_REQUESTS_PER_MINUTE", default=30)
ORBITS_SPACETRACK_REQUESTS_PER_HOUR = env.int("ORBITS_SPACETRACK_REQUESTS_PER_HOUR", default=300)
# Telescope sessions: the first exposure starts once the mount is this close to the target.
TELESCOPE_ON_TARGET_DEG = env.float("TELESCOPE_ON_TARGET_DEG", default=1.0)
