"""Development settings: `make run` on a laptop."""

from .base import *  # noqa: F403
from .base import MIDDLEWARE, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Verity's own 404 page, not Django's technical one with the URL patterns
# (config/not_found.py). First, so it sees the response every other
# middleware made (CommonMiddleware's slash redirect stays a redirect).
MIDDLEWARE = ["config.not_found.NotFoundPageMiddleware", *MIDDLEWARE]
