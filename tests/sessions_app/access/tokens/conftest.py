"""Fixtures of the API token tests: a clock that can be moved forward."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


class Clock:
    """`django.utils.timezone.now`, moved forward on demand (knox reads it too)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", clock)
    return clock
