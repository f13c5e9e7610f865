"""Fixtures for the simulator's own tests (the helpers are in tests/helpers/simulator.py)."""

from __future__ import annotations

import pytest
import requests
from openapi_core import OpenAPI

from tests.helpers.simulator import Provider, make_sim, openapi_spec


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


@pytest.fixture(scope="session")
def onfido_contract() -> tuple[OpenAPI, dict]:
    return openapi_spec("onfido-openapi.bundled.yaml")


@pytest.fixture(scope="session")
def ica_contract() -> tuple[OpenAPI, dict]:
    return openapi_spec("ica-openapi.libica-bb92fb4d.yaml")
