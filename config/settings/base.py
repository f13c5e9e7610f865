"""Settings shared by every environment.

Each block links the Django documentation of the settings it holds. Production
only tightens these (see production.py); it never adds features.
"""

from datetime import timedelta
from pathlib import Path

from config.env import BASE_DIR, env

# GENERAL
# https://docs.djangoproject.com/en/6.1/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-dev-only-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
VAR_DIR = Path(env("VERITY_VAR_DIR", default=str(BASE_DIR / "var")))

# DATABASES
# https://docs.djangoproject.com/en/6.1/ref/settings/#databases
# SQLite by default so `make run` needs no server; DATABASE_URL switches to PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server, the worker and the simulator share
    # one SQLite file without "database is locked" errors under light load.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# APPS
# https://docs.djangoproject.com/en/6.1/ref/settings/#installed-apps
INSTALLED_APPS = [
    "config.apps.VerityAdminConfig",  # django.contrib.admin with Verity's AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served locally: no CDN
    "axes",
    "sessions_app",
]

# MIDDLEWARE
# https://docs.djangoproject.com/en/6.1/topics/http/middleware/
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # django-axes must be last: it turns lockouts into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# TEMPLATES
# https://docs.djangoproject.com/en/6.1/ref/settings/#templates
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
                "django.template.context_processors.csp",
                "sessions_app.context_processors.roles",
            ],
        },
    }
]

# AUTHENTICATION
# https://docs.djangoproject.com/en/6.1/topics/auth/customizing/
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out client never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# LOGIN THROTTLING (django-axes)
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
# A page built on base.html (when to retry, whom to ask), not axes' bare string.
AXES_LOCKOUT_CALLABLE = "sessions_app.views.login_lockout"

# SECURITY
# https://docs.djangoproject.com/en/6.1/ref/settings/#x-frame-options
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10  # a working day
# https://docs.djangoproject.com/en/6.1/ref/csp/
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

# STATIC FILES
# https://docs.djangoproject.com/en/6.1/howto/static-files/
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# CACHES
# https://docs.djangoproject.com/en/6.1/topics/cache/
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# DJANGO REST FRAMEWORK
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["sessions_app.permissions.CanViewSessions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's three, with a JSON parser that answers a body nested too deeply
    # with a 400 instead of a RecursionError (a 500).
    "DEFAULT_PARSER_CLASSES": [
        "sessions_app.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # The browsable API would render every FK filter as a <select> over a big table.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sessions_app.api_errors.exception_handler",
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Verity API",
    "DESCRIPTION": "Read-only mirror of provider workflow sessions, plus review decisions. "
    "Lists take the review queue's filters and are keyset-paginated "
    "(follow `next`; `page_size` at most 500).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The schema and its docs page need a login like everything else.
    "SERVE_PERMISSIONS": ["sessions_app.permissions.CanViewSessions"],
    # Separate request/response components, so read-only fields are never
    # demanded in a request body.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar (static files), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "sessions_app.models.Status",
        "OutcomeEnum": "sessions_app.models.Outcome",
        "ProviderKindEnum": "sessions_app.models.ProviderKind",
        "SyncRunStateEnum": "sessions_app.models.SyncRunState",
        "SyncTriggerEnum": "sessions_app.models.SyncTrigger",
        "DecisionEnum": "sessions_app.models.Decision",
        "ReasonCodeEnum": "sessions_app.models.ReasonCode",
        "TagKindEnum": "sessions_app.models.TagKind",
        "LinkSourceEnum": "sessions_app.models.ClientLinkSource",
    },
}

# CELERY
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# The embedded default broker is kombu's filesystem transport: no server to install.
# Production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis redelivers unacked tasks after this; every sync chunk is far shorter.
    else {"visibility_timeout": 60 * 60}
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How often beat asks "which provider connections are due?" (each connection
# keeps its own admin-editable interval; see sessions_app.tasks).
VERITY_BEAT_TICK_SECONDS = env.int("VERITY_BEAT_TICK_SECONDS", default=15)
# Every this many days a connection's scheduled pass is a full one (it re-reads
# everything incremental passes cannot see); 0 turns it off.
VERITY_FULL_SYNC_INTERVAL_DAYS = env.int("VERITY_FULL_SYNC_INTERVAL_DAYS", default=7)
# Webhook outbox (sessions_app/tasks.py): a stored delivery whose refresh has
# not run this many seconds after it was enqueued is enqueued again by the
# sweeper (each beat tick), the wait doubling with each attempt up to the
# maximum; at most VERITY_WEBHOOK_SWEEP_BATCH deliveries per tick.
VERITY_WEBHOOK_SWEEP_AFTER_SECONDS = env.int(
    "VERITY_WEBHOOK_SWEEP_AFTER_SECONDS", default=60
)
VERITY_WEBHOOK_SWEEP_MAX_DELAY_SECONDS = env.int(
    "VERITY_WEBHOOK_SWEEP_MAX_DELAY_SECONDS", default=3600
)
VERITY_WEBHOOK_SWEEP_BATCH = env.int("VERITY_WEBHOOK_SWEEP_BATCH", default=100)
# The hour (UTC) at which beat verifies the audit trail's hash chain each day
# (sessions_app.tasks.audit_chain_verify_daily; docs/data-protection.md).
VERITY_AUDIT_VERIFY_HOUR = env.int("VERITY_AUDIT_VERIFY_HOUR", default=3)

# VERITY
# How long one sync call may work before it checkpoints and yields (seconds),
# and how many provider pages it may read. The next run resumes from the cursor.
VERITY_SYNC_MAX_SECONDS = env.int("VERITY_SYNC_MAX_SECONDS", default=120)
VERITY_SYNC_MAX_PAGES = env.int("VERITY_SYNC_MAX_PAGES", default=50)
VERITY_SYNC_BATCH_SIZE = env.int("VERITY_SYNC_BATCH_SIZE", default=500)
# Adapter pages are committed together until they hold VERITY_SYNC_BATCH_SIZE
# sessions, or this many seconds have passed since the last commit (so a slow,
# rate-limited provider still checkpoints and renews the lease often).
VERITY_SYNC_COMMIT_SECONDS = env.float("VERITY_SYNC_COMMIT_SECONDS", default=5.0)
# The per-connection sync lease: short, renewed with every committed page and
# every third of it by the holder's keeper thread (sync/lease.py), so a holder
# killed with SIGKILL blocks its connection for at most this long.
VERITY_SYNC_LEASE_SECONDS = env.float("VERITY_SYNC_LEASE_SECONDS", default=60.0)
# How many of a page's sessions are read at once (their details, checks,
# applicants), all paced by the connection's one rate limiter; a connection's
# `concurrency` option overrides it (1-16; 1 reads one session at a time).
VERITY_SYNC_CONCURRENCY = env.int("VERITY_SYNC_CONCURRENCY", default=4)
# How many unfinished sessions one sync hands the adapter to re-poll by id.
VERITY_SYNC_REFRESH_LIMIT = env.int("VERITY_SYNC_REFRESH_LIMIT", default=500)
# How many sessions in rotation one sync re-reads in full, checks included,
# least recently read first (their own change marker says nothing about their
# checks; see docs/operations.md, "Fresh checks"). 0 turns it off.
VERITY_SYNC_CHILDREN_LIMIT = env.int("VERITY_SYNC_CHILDREN_LIMIT", default=100)
# A 429's Retry-After becomes the task's retry countdown, capped far below the
# Redis visibility timeout (1 h) so a delayed retry is never redelivered twice.
VERITY_RETRY_COUNTDOWN_CAP = env.int("VERITY_RETRY_COUNTDOWN_CAP", default=900)
VERITY_RETRY_JITTER_SECONDS = env.float("VERITY_RETRY_JITTER_SECONDS", default=5.0)
# Provider HTTP: never sleep in-process longer than this on a 429.
VERITY_HTTP_MAX_INLINE_SLEEP = env.float("VERITY_HTTP_MAX_INLINE_SLEEP", default=5.0)
# Where each connection's pace (rate limiter) lives, shared by every process:
# redis://… (production), a directory (one locked file per connection), or
# "memory" (this process only). Empty: Redis (REDIS_URL, else the broker's URL)
# when the broker is Redis, else the directory VAR_DIR/pace. docs/operations.md.
VERITY_RATE_LIMIT_URL = env("VERITY_RATE_LIMIT_URL", default="")
# CSV exports on PostgreSQL: the server writes the CSV (COPY), four times
# faster than formatting in Python; off, every database takes the Python path.
VERITY_EXPORT_POSTGRES_COPY = env.bool("VERITY_EXPORT_POSTGRES_COPY", default=True)

# LOGGING
# https://docs.djangoproject.com/en/6.1/topics/logging/
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
