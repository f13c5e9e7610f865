"""The single place that reads the process environment (django-environ)."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` file is convenient in development; production sets real variables.
# VERITY_ENV_FILE names another file (a test points it at one that does not
# exist, so a developer's `.env` cannot fill in what the test left unset).
env_file = Path(os.environ.get("VERITY_ENV_FILE") or BASE_DIR / ".env")
if env_file.exists():
    environ.Env.read_env(str(env_file))
