"""The Onfido `region` option: it must match the base URL's Onfido host.

A token only works in the region its account lives in, so a connection whose
`region` says one thing and whose base URL says another is a configuration
error: the adapter refuses to be built, and the system check reports it at
start-up (`migrate`, `manage.py check --database default`).
"""

from __future__ import annotations

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from sessions_app.checks import onfido_region_check
from sessions_app.exceptions import ProviderConfigurationError
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.providers.onfido.options import region_problem
from tests.factories import ProviderConnectionFactory
from tests.helpers.providers import make_adapter


@pytest.mark.parametrize(
    ("base_url", "region"),
    [
        ("https://api.eu.onfido.com/v3.6", "eu"),
        ("https://api.us.onfido.com/v3.6", "us"),
        ("https://api.ca.onfido.com/v3.6", "CA"),  # case does not matter
        ("https://API.US.ONFIDO.COM/v3.6", "us"),
        ("https://api.us.onfido.com/v3.6", None),  # no region: the URL decides
        ("https://api.us.onfido.com/v3.6", ""),
        ("http://127.0.0.1:8765/onfido/v3.6", "us"),  # the simulator
        ("http://localhost:8765/onfido/v3.6", "eu"),
        ("https://onfido-proxy.example.test/v3.6", "ca"),  # not an Onfido host
    ],
)
def test_matching_or_unchecked_regions_are_fine(base_url, region):
    assert region_problem(base_url, region) is None


@pytest.mark.parametrize(
    ("base_url", "region", "problem"),
    [
        (
            "https://api.us.onfido.com/v3.6",
            "eu",
            "region 'eu' needs the base URL host api.eu.onfido.com, not api.us.onfido.com",
        ),
        (
            "https://api.onfido.com/v3.6",  # legacy, un-regioned
            "eu",
            "region 'eu' needs the base URL host api.eu.onfido.com, not api.onfido.com",
        ),
        (
            "https://dashboard.onfido.com/",
            "us",
            "region 'us' needs the base URL host api.us.onfido.com, "
            "not dashboard.onfido.com",
        ),
        (
            "https://api.eu.onfido.com/v3.6",
            "uk",
            "region 'uk' is not an Onfido region (use one of eu, us, ca)",
        ),
        (
            "http://127.0.0.1:8765/onfido/v3.6",
            "mars",  # even on the simulator: no such region
            "region 'mars' is not an Onfido region (use one of eu, us, ca)",
        ),
        (
            "https://api.eu.onfido.com/v3.6",
            ["eu"],
            "region '[\"eu\"]' is not an Onfido region (use one of eu, us, ca)",
        ),
    ],
)
def test_contradicting_or_unknown_regions_are_reported(base_url, region, problem):
    assert region_problem(base_url, region) == problem


def test_the_adapter_refuses_a_region_its_base_url_contradicts(fake_time):
    with pytest.raises(ProviderConfigurationError) as raised:
        make_adapter(
            OnfidoAdapter,
            fake_time,
            base_url="https://api.us.onfido.com/v3.6",
            options={"region": "eu"},
        )

    assert str(raised.value).startswith("Option 'region': region 'eu' needs")
    adapter = make_adapter(
        OnfidoAdapter,
        fake_time,
        base_url="https://api.us.onfido.com/v3.6",
        options={"region": "us"},
    )
    assert adapter.config.options["region"] == "us"


@pytest.mark.django_db
def test_the_system_check_reports_each_misconfigured_onfido_connection():
    wrong = ProviderConnectionFactory(
        slug="onfido-eu",
        base_url="https://api.us.onfido.com/v3.6",
        options={"region": "eu"},
    )
    unknown = ProviderConnectionFactory(
        slug="onfido-xx",
        base_url="https://api.eu.onfido.com/v3.6",
        options={"region": "xx"},
    )
    ProviderConnectionFactory(  # fine
        slug="onfido-us",
        base_url="https://api.us.onfido.com/v3.6",
        options={"region": "us"},
    )
    ProviderConnectionFactory(  # the simulator
        slug="onfido-sim",
        base_url="http://127.0.0.1:8765/onfido/v3.6",
        options={"region": "eu"},
    )
    ProviderConnectionFactory(  # not Onfido: `region` means nothing there
        slug="ica-lab",
        kind="ica",
        base_url="https://ica.illumina.com/ica/rest",
        options={"region": "eu"},
    )
    ProviderConnectionFactory(  # disabled: nothing syncs it
        slug="onfido-old",
        base_url="https://api.onfido.com/v3",
        options={"region": "eu"},
        enabled=False,
    )

    messages = onfido_region_check()

    assert [(m.id, m.obj) for m in messages] == [
        ("verity.E002", wrong),
        ("verity.E002", unknown),
    ]
    assert all(isinstance(m, Error) for m in messages)
    assert messages[0].msg == (
        "Provider connection 'onfido-eu': option region 'eu' needs the base URL "
        "host api.eu.onfido.com, not api.us.onfido.com."
    )
    assert "api.<region>.onfido.com" in messages[0].hint


@pytest.mark.django_db
def test_manage_py_check_with_the_database_stops_on_a_wrong_region():
    ProviderConnectionFactory(
        slug="onfido-eu",
        base_url="https://api.ca.onfido.com/v3.6",
        options={"region": "eu"},
    )

    with pytest.raises(SystemCheckError, match=r"verity\.E002"):
        call_command("check", databases=["default"])
    call_command("check")  # without a database, database checks do not run
