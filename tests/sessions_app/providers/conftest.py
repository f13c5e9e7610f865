"""Fixtures of the provider tests; the helpers they use are in tests/helpers/providers.py."""

from __future__ import annotations

import logging

import pytest
import responses

from tests.helpers.providers import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def secret_logs(caplog):
    """Capture every log record, down to DEBUG, of Verity and of urllib3."""
    caplog.set_level(logging.DEBUG)
    return caplog
