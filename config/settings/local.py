"""Development settings: `make run` on a laptop."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The provider simulator (`make run`) answers on this machine.
VERITY_PROVIDER_ALLOWED_HOSTS = env.list(
    "VERITY_PROVIDER_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"]
)
