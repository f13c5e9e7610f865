"""Fixtures for the simulator's own tests: a pinned clock, HTTP helpers, the specs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI

from sessions_app.simulator.config import ICA_MEDIA_TYPE
from sessions_app.simulator.server import SimulatorServer

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
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


@pytest.fixture
def sim():
    """A running simulator: seed 11, 30 sessions per provider, time frozen at START."""
    server = make_sim().start()
    yield server
    server.stop()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def onfido(sim, http) -> Provider:
    return Provider(sim, http, "onfido")


@pytest.fixture
def complycube(sim, http) -> Provider:
    return Provider(sim, http, "complycube")


@pytest.fixture
def ica(sim, http) -> Provider:
    return Provider(sim, http, "ica")


def _json_loads(value: bytes, **_parameters: str):
    return json.loads(value)


def _spec(name: str) -> tuple[OpenAPI, dict]:
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


@pytest.fixture(scope="session")
def onfido_contract() -> tuple[OpenAPI, dict]:
    return _spec("onfido-openapi.bundled.yaml")


@pytest.fixture(scope="session")
def ica_contract() -> tuple[OpenAPI, dict]:
    return _spec("ica-openapi.libica-bb92fb4d.yaml")
