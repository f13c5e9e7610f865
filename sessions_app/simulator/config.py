"""Constants shared by the simulator, its management command, `make run` and tests.

The credentials are fake and printed on purpose: the simulator is a local
development tool. Put them in the environment variables a ProviderConnection
names, exactly as for a real provider.
"""

from __future__ import annotations

PROVIDERS: tuple[str, ...] = ("onfido", "complycube", "ica")

# What each provider's client must send (see the package docstring for headers).
SIM_ONFIDO_TOKEN = "sim-onfido-token"  # noqa: S105 - fake, local-only credential
SIM_COMPLYCUBE_API_KEY = "sim-complycube-key"
SIM_ICA_API_KEY = "sim-ica-key"

SIM_ONFIDO_WEBHOOK_SECRET = "sim-onfido-webhook-secret"  # noqa: S105
SIM_COMPLYCUBE_WEBHOOK_SECRET = "sim-complycube-webhook-secret"  # noqa: S105
SIM_ICA_WEBHOOK_SECRET = "sim-ica-webhook-secret"  # noqa: S105

DEFAULT_CREDENTIALS: dict[str, str] = {
    "onfido": SIM_ONFIDO_TOKEN,
    "complycube": SIM_COMPLYCUBE_API_KEY,
    "ica": SIM_ICA_API_KEY,
}
DEFAULT_WEBHOOK_SECRETS: dict[str, str] = {
    "onfido": SIM_ONFIDO_WEBHOOK_SECRET,
    "complycube": SIM_COMPLYCUBE_WEBHOOK_SECRET,
    "ica": SIM_ICA_WEBHOOK_SECRET,
}

# Where each provider lives under the simulator's root URL. A ProviderConnection's
# base URL is `<simulator url><prefix>`, mirroring the real base URLs
# (https://api.eu.onfido.com/v3.6, https://api.complycube.com/v1,
# https://ica.illumina.com/ica/rest).
PATH_PREFIXES: dict[str, str] = {
    "onfido": "/onfido/v3.6",
    "complycube": "/complycube/v1",
    "ica": "/ica/rest",
}

# Steady request rates in requests per second (None = unlimited). Onfido documents
# 400/minute live; ComplyCube 10/s live; ICA publishes no number.
DEFAULT_RATE_LIMITS: dict[str, float | None] = {
    "onfido": 400 / 60,
    "complycube": 10.0,
    "ica": 20.0,
}
# Whether a 429 carries `Retry-After` (seconds) by default. None of the three
# documents the header; ComplyCube's official SDK honours it, so the simulator
# sends it there and withholds it elsewhere, so clients handle both.
DEFAULT_RETRY_AFTER: dict[str, int | None] = {
    "onfido": None,
    "complycube": 1,
    "ica": None,
}

ONFIDO_PAGE_SIZE = 20
COMPLYCUBE_DEFAULT_PAGE_SIZE = 100
COMPLYCUBE_MAX_PAGE_SIZE = 1000
ICA_DEFAULT_PAGE_SIZE = 100
ICA_MAX_PAGE_SIZE = 1000
ICA_MEDIA_TYPE = "application/vnd.illumina.v3+json"
ICA_PROBLEM_MEDIA_TYPE = "application/problem+json"
JSON_MEDIA_TYPE = "application/json; charset=utf-8"


def provider_base_urls(root_url: str) -> dict[str, str]:
    """Return each provider's base URL under a simulator root URL."""
    root = root_url.rstrip("/")
    return {name: f"{root}{prefix}" for name, prefix in PATH_PREFIXES.items()}
