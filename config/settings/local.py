"""Development settings: `make run` on a laptop."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# `make run`'s demo logins (admin, exporter) sign in with their password alone;
# VERITY_MFA_REQUIRED=1 make run shows the enrolment (docs/operations.md).
VERITY_MFA_REQUIRED = env.bool("VERITY_MFA_REQUIRED", default=False)
