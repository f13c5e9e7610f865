"""Production settings: only tighten what base.py sets.

Required environment: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL,
CELERY_BROKER_URL, REDIS_URL. See README.md "Environment variables".

base.py gives the last three development defaults (SQLite, the filesystem
broker, a per-process memory cache), so `make run` needs no server. In
production each default would fail quietly: a SQLite file per container, tasks
queued where no worker looks, a lease cache no other process sees. So a
missing or empty one stops the process here, before base.py reads them,
with ImproperlyConfigured naming every missing variable at once.
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import env

REQUIRED_ENVIRONMENT = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
)
MISSING_ENVIRONMENT = [
    name for name in REQUIRED_ENVIRONMENT if not env.str(name, default="").strip()
]
if MISSING_ENVIRONMENT:
    raise ImproperlyConfigured(
        "Production settings need these environment variables, missing or empty: "
        f"{', '.join(MISSING_ENVIRONMENT)}. Nothing falls back to the development "
        'defaults in production; see README.md "Environment variables".'
    )

from .base import *  # noqa: E402, F403
from .base import DATABASES  # noqa: E402

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# https://docs.djangoproject.com/en/6.1/howto/deployment/checklist/
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Secure-csrftoken"
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
