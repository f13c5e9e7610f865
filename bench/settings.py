"""Settings for `make bench`: production behaviour on the bench database.

DEBUG is off (Django would otherwise keep every query in memory and the
template query guard would run), the test client's host is allowed, and the
URL map adds a stock Django admin (`bench.urls`) to compare against.
`DATABASE_URL` chooses the database exactly as in every other environment.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    ALLOWED_HOSTS,
    INSTALLED_APPS,
    VERITY_PROVIDER_ALLOWED_HOSTS,
)

DEBUG = False
VERITY_TEMPLATE_QUERY_GUARD = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# The sync measurements reach the provider simulator this process starts on
# the loopback address (a connection's base URL must be on its provider's
# hosts or on this list).
VERITY_PROVIDER_ALLOWED_HOSTS = [*VERITY_PROVIDER_ALLOWED_HOSTS, "127.0.0.1"]
ROOT_URLCONF = "bench.urls"
# django-import-export is the "usual library" the CSV export is compared with.
INSTALLED_APPS = [*INSTALLED_APPS, "import_export"]
# Fast logins for the bench users (never used outside the bench).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
