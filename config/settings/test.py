"""Settings for pytest: fast hashing, eager nothing, no throttling surprises."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
VERITY_HTTP_MAX_INLINE_SLEEP = 0.0
# Each test process paces on its own; the shared-pace tests give their workers one.
VERITY_RATE_LIMIT_URL = env("VERITY_RATE_LIMIT_URL", default="memory")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Off for the suite, so force_login keeps meaning "signed in"; the MFA tests
# turn it on (the `mfa_required` fixture in tests/conftest.py).
VERITY_MFA_REQUIRED = False
# The simulator and the fake hosts the tests mock (never a real address).
VERITY_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", ".test"]
