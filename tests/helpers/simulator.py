"""Helpers for the simulator's own tests: a pinned start, a simulator factory,
authenticated calls to one provider, and the official specs with the checks
that hold a reply against them.

The fixtures built on these (`sim`, `http`, `onfido`, `complycube`, `ica`,
`onfido_contract`, `ica_contract`) are in tests/sessions_app/simulator/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import (
    RequestsOpenAPIRequest,
    RequestsOpenAPIResponse,
)
from openapi_core.exceptions import OpenAPIError

from sessions_app.simulator.config import ICA_MEDIA_TYPE
from sessions_app.simulator.server import SimulatorServer

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
NO_RATE_LIMITS = {"onfido": None, "complycube": None, "ica": None}


class Provider:
    """Authenticated calls to one provider of a running simulator."""

    def __init__(self, sim: SimulatorServer, http: requests.Session, kind: str) -> None:
        self.sim = sim
        self.http = http
        self.kind = kind
        self.base = sim.base_urls[kind]
        credential = sim.credentials[kind]
        self.headers = {
            "onfido": {"Authorization": f"Token token={credential}"},
            "complycube": {"Authorization": credential},
            "ica": {"X-API-Key": credential, "Accept": ICA_MEDIA_TYPE},
        }[kind]

    def get(self, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.get(self.base + path, headers=headers, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.post(self.base + path, headers=headers, timeout=10, **kwargs)


def make_sim(**kwargs) -> SimulatorServer:
    """A simulator server (not started): seed 11, 30 sessions, time frozen at START."""
    options = {
        "port": 0,
        "seed": 11,
        "sessions": 30,
        "speed": 0,
        "start": START,
        "rate_limits": NO_RATE_LIMITS,
    }
    options.update(kwargs)
    return SimulatorServer(**options)


def ica_search(ica: Provider, project: str, body: dict | None = None, **params):
    """POST a workflowSessions:search of `project` (query `params`, JSON `body`)."""
    return ica.post(
        f"/api/projects/{project}/workflowSessions:search",
        params=params,
        json=body or {},
    )


# --- the official specs -------------------------------------------------------


def _json_loads(value: bytes, **_parameters: str):
    return json.loads(value)


def openapi_spec(name: str) -> tuple[OpenAPI, dict]:
    """The spec `name` of tests/contracts/, ready to validate, and its raw document."""
    with (CONTRACTS / name).open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=yaml.CSafeLoader)
    config = Config(
        # The official documents are trusted inputs; validating them is slow and not our job.
        spec_validator_cls=None,
        extra_media_type_deserializers={
            ICA_MEDIA_TYPE: _json_loads,
            "application/problem+json": _json_loads,
        },
    )
    return OpenAPI.from_dict(document, config=config), document


# The Onfido spec's server is https://api.{region}.onfido.com/v3.6; the simulator
# serves the same paths under <root>/onfido/v3.6. ICA's spec server is relative
# (/ica/rest), which the simulator's paths already match.
ONFIDO_OFFICIAL_HOST = "https://api.eu.onfido.com"


class _ContractRequest(RequestsOpenAPIRequest):
    """The request as sent, addressed to the provider's own server."""

    @property
    def host_url(self) -> str:
        if self._url_parsed.path.startswith("/onfido/"):
            return ONFIDO_OFFICIAL_HOST
        return super().host_url

    @property
    def path(self) -> str:
        path = self._url_parsed.path
        return path.removeprefix("/onfido") if path.startswith("/onfido/") else path


def contract_errors(
    spec: OpenAPI, response: requests.Response, *, check_request: bool = True
) -> list[Any]:
    """Every way this exchange breaks the spec (schema errors, or the raised error)."""
    request = _ContractRequest(response.request)
    errors: list[Any] = []
    if check_request:
        try:
            spec.validate_request(request)
        except OpenAPIError as error:
            errors.append(
                ("request", error, getattr(error.__cause__, "schema_errors", None))
            )
    try:
        spec.validate_response(request, RequestsOpenAPIResponse(response))
    except OpenAPIError as error:
        schema_errors = getattr(error.__cause__, "schema_errors", None)
        errors.extend(schema_errors if schema_errors else [error])
    return errors


def assert_contract(
    spec: OpenAPI, response: requests.Response, *, check_request: bool = True
) -> None:
    errors = contract_errors(spec, response, check_request=check_request)
    assert not errors, (
        f"{response.request.method} {response.url} -> {response.status_code}: {errors}"
    )
