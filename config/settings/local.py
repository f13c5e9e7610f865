"""Development settings: `make run` on a laptop."""

from .base import *  # noqa: F403
from .base import LOGGING, MIDDLEWARE, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# `make run`'s demo logins (admin, exporter) sign in with their password alone;
# VERITY_MFA_REQUIRED=1 make run shows the enrolment (docs/operations.md).
VERITY_MFA_REQUIRED = env.bool("VERITY_MFA_REQUIRED", default=False)

# Verity's own 404 page, not Django's technical one with the URL patterns
# (config/not_found.py). First, so it sees the response every other
# middleware made (CommonMiddleware's slash redirect stays a redirect).
MIDDLEWARE = ["config.not_found.NotFoundPageMiddleware", *MIDDLEWARE]

# The development server's request lines ("GET /sessions/ 200") follow the root
# level: `make run` sets DJANGO_LOG_LEVEL=WARNING unless VERBOSE=1, so only
# 4xx/5xx lines remain (devstack.py).
LOGGING = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "django.server": {
            "handlers": ["console"],
            "level": env("DJANGO_LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
    },
}

# The provider simulator (`make run`) answers on this machine.
VERITY_PROVIDER_ALLOWED_HOSTS = env.list(
    "VERITY_PROVIDER_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"]
)

# The embedded (filesystem) broker has no host; kombu says so on every connection.
LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}
