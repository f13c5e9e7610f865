"""Settings shared by every environment.

Each block links the Django documentation of the settings it holds. Production
only tightens these (see production.py); it never adds features.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

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
# ISO dates in UTC wherever Django formats a date itself (the admin): config/formats.
FORMAT_MODULE_PATH = ["config.formats"]
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
    "knox",  # API tokens; its model is swapped for Verity's ApiToken (below)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served locally: no CDN
    "axes",
    # Multi-factor for local accounts: TOTP apps and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
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
    # request.user.is_verified(), then the MFA gate (after the login gate).
    "django_otp.middleware.OTPMiddleware",
    "sessions_app.access.mfa_middleware.MFARequiredMiddleware",
    # Cache-Control: no-store, private on every answer to a signed-in user.
    "sessions_app.middleware.NoStoreForSignedInMiddleware",
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

# Django's form renderer with its <select> written in Python (the queue's
# filter forms hold 91 options; sessions_app/form_rendering.py).
FORM_RENDERER = "sessions_app.form_rendering.SelectFastRenderer"

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

# MULTI-FACTOR (django-otp; docs/operations.md, "Multi-factor")
# Local accounts with the admin role or export permission must sign in with a
# TOTP code (or a one-time recovery code) on top of their password. On unless
# turned off: local.py turns it off for `make run`'s demo logins.
VERITY_MFA_REQUIRED = env.bool("VERITY_MFA_REQUIRED", default=True)
VERITY_MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env("VERITY_MFA_ISSUER", default="Verity")
# After n failed codes a device refuses codes for factor * 2^(n-1) seconds.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# SINGLE SIGN-ON (OpenID Connect, mozilla-django-oidc)
# https://mozilla-django-oidc.readthedocs.io/en/stable/settings.html
# Off unless VERITY_OIDC_CLIENT_ID is set; then every VERITY_OIDC_* below is
# required (config/oidc.py checks them here, at start-up).
from config.oidc import OIDC_REQUIRED_WHEN_ENABLED, oidc_role_map_parse  # noqa: E402

VERITY_OIDC_CLIENT_ID = env("VERITY_OIDC_CLIENT_ID", default="")
VERITY_OIDC_ENABLED = bool(VERITY_OIDC_CLIENT_ID.strip())
# The button says "Sign in with <name>".
VERITY_OIDC_NAME = env("VERITY_OIDC_NAME", default="single sign-on")
# The `iss` every ID token must carry (mozilla-django-oidc does not check it).
VERITY_OIDC_ISSUER = env("VERITY_OIDC_ISSUER", default="")
# The claim holding the user's groups, and group -> Verity role(s) as JSON.
VERITY_OIDC_GROUPS_CLAIM = env("VERITY_OIDC_GROUPS_CLAIM", default="groups")
VERITY_OIDC_ROLE_MAP = oidc_role_map_parse(env("VERITY_OIDC_ROLE_MAP", default="{}"))
_oidc_missing = [
    name for name in OIDC_REQUIRED_WHEN_ENABLED if not env(name, default="").strip()
]
if VERITY_OIDC_ENABLED and _oidc_missing:
    raise ImproperlyConfigured(
        "VERITY_OIDC_CLIENT_ID turns single sign-on on, which also needs: "
        f'{", ".join(_oidc_missing)} (docs/operations.md, "Single sign-on").'
    )
OIDC_RP_CLIENT_ID = VERITY_OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = env("VERITY_OIDC_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("VERITY_OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("VERITY_OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("VERITY_OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("VERITY_OIDC_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("VERITY_OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("VERITY_OIDC_SCOPES", default="openid email profile")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
if VERITY_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("sessions_app.access.sso_backend.VerityOIDCBackend")

# LOGIN THROTTLING (django-axes)
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# How many reverse proxies stand in front of Verity, each appending to
# X-Forwarded-For: the client IP is the entry that many places from the right
# (sessions_app/client_ip.py), so that behind a proxy each client is locked
# out on its own, not everyone on the proxy's address. 0: no proxy (REMOTE_ADDR).
# Set it to exactly the number of proxies: more lets a client choose its IP.
# AXES_IPWARE_PROXY_COUNT is read as its old name. docs/operations.md.
VERITY_TRUSTED_PROXY_COUNT = env.int(
    "VERITY_TRUSTED_PROXY_COUNT", default=env.int("AXES_IPWARE_PROXY_COUNT", default=0)
)
AXES_CLIENT_IP_CALLABLE = "sessions_app.client_ip.client_ip_address"
# Lockouts are read and cleared in Verity's audited admin (admin/lockouts.py).
AXES_ENABLE_ADMIN = False
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
        "sessions_app.access.tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
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
# API TOKENS (django-rest-knox)
# https://jazzband.github.io/django-rest-knox/settings
# Named, expiring tokens, stored as a SHA-512 digest (sessions_app/access/tokens/).
# Knox's own AuthToken is swapped for Verity's ApiToken (name, last use); its
# migrations predate that swap and would create an unused table, so they are off.
KNOX_TOKEN_MODEL = "sessions_app.ApiToken"  # noqa: S105 - a model name
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    # Greppable when leaked (secret scanners, logs); knox allows up to 10 characters.
    "TOKEN_PREFIX": "verity_",
    "AUTH_HEADER_PREFIX": "Token",  # `Authorization: Token <secret>`, as before
    "AUTO_REFRESH": False,  # a token lives exactly as long as chosen when minted
}
# The longest lifetime a user may choose when minting a token, in days.
VERITY_API_TOKEN_MAX_DAYS = env.int("VERITY_API_TOKEN_MAX_DAYS", default=90)
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
        "CheckKindEnum": "sessions_app.models.CheckKind",
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
# The retention clock (docs/data-protection.md): customer due-diligence records
# are kept this many years after the relationship ends (UK MLR 2017 reg. 40,
# FATF R.11: five), then erased by the daily task at VERITY_RETENTION_HOUR
# (UTC), which also asks the providers to delete; each provider deletion is
# tried VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS times with backoff, then again
# by the next day's task.
VERITY_RETENTION_YEARS = env.int("VERITY_RETENTION_YEARS", default=5)
VERITY_RETENTION_HOUR = env.int("VERITY_RETENTION_HOUR", default=4)
VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS = env.int(
    "VERITY_PROVIDER_ERASURE_MAX_ATTEMPTS", default=6
)
# How long a reviewer's reveal of a session's or a client's personal data
# lasts (seconds; stored server-side per user and object, audited;
# docs/data-protection.md).
VERITY_PERSONAL_DATA_REVEAL_SECONDS = env.int(
    "VERITY_PERSONAL_DATA_REVEAL_SECONDS", default=600
)

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
# The other lanes open while the provider's typical round trip is at least
# this many seconds (it answers across a network); 0 opens them always
# (providers/concurrency.py).
VERITY_SYNC_LANES_ROUND_TRIP = env.float("VERITY_SYNC_LANES_ROUND_TRIP", default=0.01)
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
# Provider connections may only name environment variables with this prefix
# (their credential, their webhook secret), and send the credential only to
# the provider kind's documented API hosts plus these (exact host names, or
# ".example.com" for a domain and its subdomains). docs/operations.md,
# "Provider secrets"; sessions_app/providers/endpoints.py.
VERITY_PROVIDER_ENV_PREFIX = env(
    "VERITY_PROVIDER_ENV_PREFIX", default="VERITY_PROVIDER_"
)
if not VERITY_PROVIDER_ENV_PREFIX.strip():
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "VERITY_PROVIDER_ENV_PREFIX may not be empty: it keeps the admin from "
        "naming the server's own secrets as a provider credential."
    )
VERITY_PROVIDER_ALLOWED_HOSTS = env.list("VERITY_PROVIDER_ALLOWED_HOSTS", default=[])
# CSV exports on PostgreSQL: the server writes the CSV (COPY), four times
# faster than formatting in Python; off, every database takes the Python path.
VERITY_EXPORT_POSTGRES_COPY = env.bool("VERITY_EXPORT_POSTGRES_COPY", default=True)

# THE CLIENT'S ASSURANCE MATRIX (docs/assurance.md)
# How long a completed check stays valid, in days, per check kind (None: no
# expiry). A document is valid until its own expiry when the provider reports
# one. Defaults follow common AML practice (screening yearly, proof of address
# recent); a compliance team sets its own policy here.
VERITY_ASSURANCE_VALIDITY_DAYS = {
    "document": 3 * 365,
    "biometrics": 3 * 365,
    "liveness": 3 * 365,
    "screening": 365,
    "adverse_media": 365,
    "proof_of_address": 180,
    "identity": 3 * 365,
    "aml_risk": 365,
    "fraud_signals": 365,
    "pipeline_analysis": None,
    "other": None,
}
# A valid result this close to its end is shown as expiring.
VERITY_ASSURANCE_EXPIRING_DAYS = env.int("VERITY_ASSURANCE_EXPIRING_DAYS", default=30)
# The kinds every client must have verified: a kind missing from the matrix
# is a gap.
VERITY_REQUIRED_CHECK_KINDS = env.list(
    "VERITY_REQUIRED_CHECK_KINDS", default=["document", "biometrics", "screening"]
)
# The kinds required per risk tier (docs/assurance.md); a tier without an
# entry, and a client whose tier is not set, use VERITY_REQUIRED_CHECK_KINDS.
VERITY_REQUIRED_CHECK_KINDS_BY_TIER: dict[str, list[str]] = {
    "high": ["document", "biometrics", "liveness", "screening", "adverse_media"],
}
# Re-verification: months between reviews per risk tier (a client whose tier
# is not set is reviewed at the low tier's cadence), how close to its date a
# review counts as due, and when the daily task recomputes every client.
VERITY_REVIEW_CADENCE_MONTHS = {"high": 12, "medium": 24, "low": 36}
VERITY_REVIEW_DUE_WITHIN_DAYS = env.int("VERITY_REVIEW_DUE_WITHIN_DAYS", default=30)
VERITY_REVIEW_REFRESH_HOUR = env.int("VERITY_REVIEW_REFRESH_HOUR", default=2)
VERITY_REVIEW_REFRESH_BATCH = env.int("VERITY_REVIEW_REFRESH_BATCH", default=2000)
# A session's provider risk score (Onfido run `output.risk_score`, 0-1, higher
# is riskier) at or above these derives that tier.
VERITY_RISK_SCORE_THRESHOLDS = {"high": 0.8, "medium": 0.5}

# CASE WORK (docs/case-work.md)
# Which decisions a second reviewer (not the maker) must approve: a rule names
# a decision ("approve", "reject", "escalate", "request_information" or
# "override") and may narrow it to provider outcomes. Checked at start-up.
VERITY_FOUR_EYES_RULES = [
    {"decision": "approve", "outcomes": ["attention", "rejected"]},
    {"decision": "reject"},
    {"decision": "override"},
]
# A request for information without a date waits this many days; then the
# beat brings the case back to work.
VERITY_CASE_WAITING_DAYS = env.int("VERITY_CASE_WAITING_DAYS", default=7)
# How often the beat looks for waiting cases whose date has passed.
VERITY_CASE_WAITING_RETURN_SECONDS = env.int(
    "VERITY_CASE_WAITING_RETURN_SECONDS", default=300
)
# Due times (cases/sla.py, docs/case-work.md): business days (Monday to
# Friday, less VERITY_SLA_HOLIDAYS, ISO dates) per queue rule. Needs attention:
# after it began; waiting: after its waiting-until date; escalated and
# awaiting approval: after the case entered the state. `manage.py sla_rebuild`
# recomputes stored due times after a change.
VERITY_SLA_RULES = env.json(
    "VERITY_SLA_RULES",
    default={
        "needs_attention": 2,
        "waiting": 0,
        "escalated": 5,
        "awaiting_approval": 1,
    },
)
VERITY_SLA_HOLIDAYS = env.list("VERITY_SLA_HOLIDAYS", default=[])

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
