"""ProviderHTTP: error mapping, retries, 429 handling, rate limiting, secrecy."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import threading

import pytest
import requests
from responses import matchers

from sessions_app.exceptions import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from sessions_app.providers.base import ConnectionConfig
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.complycube.http import complycube_error
from sessions_app.providers.http import ProviderHTTP
from sessions_app.providers.ica.http import ica_error
from sessions_app.providers.onfido.http import onfido_error
from sessions_app.providers.pacing import (
    RateLimiter,
    connection_rate_limiter,
    retry_after_seconds,
)
from tests.helpers.providers import TOKEN, load

BASE = "https://api.example.test/v1"
URL = f"{BASE}/things"


def make_http(
    fake_time, *, error_parser=onfido_error, rate=0.0, **kwargs
) -> ProviderHTTP:
    options = {
        "provider": "acme",
        "headers": {"Authorization": f"Token token={TOKEN}"},
        "rate_limit_per_second": rate,
        "error_parser": error_parser,
        "secrets": [TOKEN],
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "jitter": lambda: 0.5,
        "max_inline_sleep": 5.0,
        **kwargs,
    }
    return ProviderHTTP(BASE, **options)


# Success ---------------------------------------------------------------------------


def test_get_json_sends_headers_params_and_timeouts(rsps, fake_time):
    rsps.get(
        URL, json={"ok": True}, match=[matchers.query_param_matcher({"page": "2"})]
    )
    http = make_http(fake_time, connect_timeout=3, read_timeout=11)

    assert http.get_json("/things", params={"page": 2}) == {"ok": True}

    request = rsps.calls[0].request
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.req_kwargs["timeout"] == (3, 11)
    assert fake_time.sleeps == []


def test_a_netrc_entry_never_replaces_the_providers_credential(
    rsps, fake_time, tmp_path, monkeypatch
):
    # requests, left to read the environment, applies ~/.netrc Basic auth over
    # the Authorization header of every request to a matching (or any) host.
    netrc = tmp_path / "netrc"
    netrc.write_text("default login mallory password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    rsps.get(URL, json={"ok": True})

    make_http(fake_time).get_json("/things")

    assert rsps.calls[0].request.headers["Authorization"] == f"Token token={TOKEN}"


def test_proxies_and_ca_bundle_come_from_the_environment_at_construction(
    rsps, fake_time, monkeypatch
):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    rsps.get(URL, json={"ok": True})
    http = make_http(fake_time)
    # Later changes are not read per request.
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.internal:3128")

    http.get_json("/things")

    sent = rsps.calls[0].request.req_kwargs
    assert sent["proxies"]["https"] == "http://egress.internal:3128"
    assert sent["verify"] == "/etc/ssl/corporate.pem"


def test_no_proxy_for_the_provider_host_is_respected(rsps, fake_time, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    rsps.get(URL, json={"ok": True})

    make_http(fake_time).get_json("/things")

    assert "https" not in rsps.calls[0].request.req_kwargs["proxies"]


def test_a_cookie_the_provider_sets_is_never_sent_back(rsps, fake_time):
    # A load balancer's cookie is not needed by a key-authenticated API, and
    # leaving it out keeps a request's cost flat (`ProviderHTTP._send`).
    rsps.get(URL, json={"ok": True}, headers={"Set-Cookie": "AWSALB=sticky; Path=/"})
    http = make_http(fake_time)

    http.get_json("/things")
    http.get_json("/things", params={"tags": ["a", "b"], "skip": None})

    assert [call.request.headers.get("Cookie") for call in rsps.calls] == [None, None]
    # Nor kept: the answer goes through the transport adapter alone, whose
    # body is read at once as `Session.send` reads it.
    assert len(http.session.cookies) == 0
    assert rsps.calls[1].response._content_consumed
    assert rsps.calls[1].request.url == f"{URL}?tags=a&tags=b"
    assert rsps.calls[1].request.headers["User-Agent"] == "verity/0.1"


def test_post_json_sends_json_with_the_configured_content_type(rsps, fake_time):
    rsps.post(
        URL,
        json={"items": []},
        match=[matchers.json_params_matcher({"status": ["FAILED"]})],
    )
    http = make_http(fake_time, json_content_type="application/vnd.illumina.v3+json")

    assert http.post_json("/things", json={"status": ["FAILED"]}) == {"items": []}
    assert (
        rsps.calls[0].request.headers["Content-Type"]
        == "application/vnd.illumina.v3+json"
    )


def test_base_url_with_a_path_prefix_is_kept(rsps, fake_time):
    """A simulator mounts each provider under a prefix (http://127.0.0.1:8765/onfido/v3.6)."""
    rsps.get("http://127.0.0.1:8765/onfido/v3.6/workflow_runs", json=[])
    http = ProviderHTTP(
        "http://127.0.0.1:8765/onfido/v3.6/",
        provider="sim",
        headers={},
        rate_limit_per_second=0,
        error_parser=onfido_error,
        sleep=fake_time.sleep,
    )
    assert http.get_json("/workflow_runs") == []


def test_204_returns_none(rsps, fake_time):
    rsps.get(URL, status=204)
    assert make_http(fake_time).get_json("/things") is None


# Error mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, ProviderBadRequest),
        (422, ProviderBadRequest),
        (401, ProviderAuthError),
        (403, ProviderAuthError),
        (404, ProviderNotFound),
        (410, ProviderNotFound),
        (409, ProviderBadRequest),
    ],
)
def test_client_errors_map_to_the_hierarchy_without_retry(
    rsps, fake_time, status, exception
):
    rsps.get(URL, status=status, json=load("onfido", "errors/validation.json"))

    with pytest.raises(exception) as caught:
        make_http(fake_time).get_json("/things")

    error = caught.value
    assert error.status == status
    assert error.provider == "acme"
    assert error.error_type == "validation_error"
    assert "There was a validation error" in error.message
    assert "created_at_gt" in error.message  # Onfido's `fields` are kept
    assert "GET /things" in str(error)
    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []


def test_500_is_unavailable_without_retry(rsps, fake_time):
    rsps.get(URL, status=500, json=load("complycube", "errors/internal.json"))

    with pytest.raises(ProviderUnavailable) as caught:
        make_http(fake_time, error_parser=complycube_error).get_json("/things")

    assert caught.value.status == 500
    assert caught.value.error_type == "internal_server_error"
    assert len(rsps.calls) == 1


def test_502_is_retried_with_jittered_backoff_then_succeeds(rsps, fake_time):
    rsps.get(URL, status=502, body="<html>Bad gateway</html>")
    rsps.get(URL, status=504, body="")
    rsps.get(URL, json={"ok": 1})

    assert make_http(fake_time).get_json("/things") == {"ok": 1}

    assert len(rsps.calls) == 3
    # Full jitter with jitter()=0.5: half of 0.5 s, then half of 1 s.
    assert fake_time.sleeps == [0.25, 0.5]


def test_5xx_after_the_retries_is_unavailable(rsps, fake_time):
    for _ in range(5):
        rsps.get(URL, status=503, body="<html><h1>Service Unavailable</h1></html>")

    with pytest.raises(ProviderUnavailable) as caught:
        make_http(fake_time, max_retries=3).get_json("/things")

    assert caught.value.status == 503
    assert (
        "Service Unavailable" in caught.value.message
    )  # HTML body: an excerpt, no crash
    assert len(rsps.calls) == 4
    assert fake_time.sleeps == [0.25, 0.5, 1.0]


def test_backoff_is_capped(fake_time, rsps):
    for _ in range(7):
        rsps.get(URL, status=502)
    with pytest.raises(ProviderUnavailable):
        make_http(fake_time, max_retries=6, jitter=lambda: 1.0).get_json("/things")
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("Connection refused"),
        requests.exceptions.ChunkedEncodingError("connection broken"),
    ],
)
def test_transport_errors_are_retried_then_unavailable_without_status(
    rsps, fake_time, error
):
    for _ in range(4):
        rsps.get(URL, body=error)

    with pytest.raises(ProviderUnavailable) as caught:
        make_http(fake_time, max_retries=3).get_json("/things")

    assert caught.value.status is None
    assert type(error).__name__ in str(caught.value)
    assert len(rsps.calls) == 4


def test_a_timeout_then_success_returns_the_body(rsps, fake_time):
    rsps.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(URL, json=[1, 2])
    assert make_http(fake_time).get_json("/things") == [1, 2]


def test_malformed_json_is_retried_once_then_invalid_with_an_excerpt(rsps, fake_time):
    rsps.get(URL, body='{"items": [1, 2,', content_type="application/json")
    rsps.get(URL, body='{"items": [1, 2,', content_type="application/json")

    with pytest.raises(ProviderResponseInvalid) as caught:
        make_http(fake_time).get_json("/things")

    assert caught.value.status == 200
    assert '{"items": [1, 2,' in caught.value.message
    assert len(rsps.calls) == 2


def test_malformed_json_once_then_valid_succeeds(rsps, fake_time):
    rsps.get(URL, body="<html>oops</html>")
    rsps.get(URL, json={"fine": True})
    assert make_http(fake_time).get_json("/things") == {"fine": True}


def test_an_empty_200_is_invalid(rsps, fake_time):
    rsps.get(URL, body="")
    rsps.get(URL, body="")
    with pytest.raises(ProviderResponseInvalid):
        make_http(fake_time).get_json("/things")


def test_redirects_are_not_followed(rsps, fake_time):
    """Following one would send the API key to wherever Location points."""
    rsps.get(URL, status=302, headers={"Location": "https://elsewhere.example/steal"})

    with pytest.raises(ProviderResponseInvalid) as caught:
        make_http(fake_time).get_json("/things")

    assert caught.value.status == 302
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("parser", "body", "expected"),
    [
        (onfido_error, {"error": {"type": "t", "message": "m"}}, ("t", "m")),
        (onfido_error, {"error": "not an object"}, ("", "")),
        (onfido_error, ["a", "list"], ("", "")),
        (
            complycube_error,
            {"type": "invalid_request", "message": "bad", "param": "pageSize"},
            ("invalid_request", "bad (param pageSize)"),
        ),
        (complycube_error, "text", ("", "")),
        (
            ica_error,
            {"title": "ICA_API_004", "detail": "Invalid Accept Header", "status": 400},
            ("ICA_API_004", "Invalid Accept Header"),
        ),
        (ica_error, {"title": "Not Found"}, ("Not Found", "Not Found")),
    ],
)
def test_error_parsers_read_each_envelope_and_tolerate_others(
    rsps, parser, body, expected
):
    rsps.get(URL, status=400, json=body)
    response = requests.get(URL, timeout=1)
    assert parser(response) == expected


@pytest.mark.parametrize("parser", [onfido_error, complycube_error, ica_error])
def test_error_parsers_survive_non_json_bodies(rsps, parser):
    rsps.get(URL, status=502, body=b"\xff\xfe<html>gateway</html>")
    assert parser(requests.get(URL, timeout=1)) == ("", "")


def test_a_crashing_error_parser_does_not_hide_the_error(rsps, fake_time):
    def broken(response):
        raise RuntimeError("parser bug")

    rsps.get(URL, status=404, body="no such thing")
    with pytest.raises(ProviderNotFound) as caught:
        make_http(fake_time, error_parser=broken).get_json("/things")
    assert "no such thing" in caught.value.message


# 429 --------------------------------------------------------------------------------


def test_429_with_short_retry_after_sleeps_inline_and_retries(rsps, fake_time):
    rsps.get(
        URL,
        status=429,
        headers={"Retry-After": "2"},
        json={"error": {"type": "rate_limit"}},
    )
    rsps.get(URL, json={"ok": True})

    assert make_http(fake_time, max_inline_sleep=5.0).get_json("/things") == {
        "ok": True
    }
    assert fake_time.sleeps == [2.0]


def test_429_with_long_retry_after_raises_for_the_task_to_reschedule(rsps, fake_time):
    rsps.get(
        URL,
        status=429,
        headers={"Retry-After": "120"},
        json={"error": {"type": "rate_limit", "message": "slow down"}},
    )

    with pytest.raises(ProviderRateLimited) as caught:
        make_http(fake_time, max_inline_sleep=5.0).get_json("/things")

    assert caught.value.retry_after == 120.0
    assert caught.value.status == 429
    assert caught.value.error_type == "rate_limit"
    assert fake_time.sleeps == []  # never slept in-process
    assert len(rsps.calls) == 1


def test_a_long_hold_set_by_another_clients_429_ends_a_request_before_it_is_sent(
    rsps, fake_time
):
    limiter = RateLimiter(0.0, clock=fake_time.clock)
    first = make_http(fake_time, rate_limiter=limiter)
    other = make_http(fake_time, rate_limiter=limiter)  # another lane, same connection
    rsps.get(URL, status=429, headers={"Retry-After": "120"})
    with pytest.raises(ProviderRateLimited):
        first.get_json("/things")

    with pytest.raises(ProviderRateLimited, match="held after a 429") as caught:
        other.get_json("/things")

    assert caught.value.retry_after == pytest.approx(120.0)
    assert caught.value.extra["held"] is True
    assert len(rsps.calls) == 1  # the held request was never sent
    assert fake_time.sleeps == []  # nor waited for in-process
    fake_time.sleep(120.0)  # the rescheduled run, after the hold
    rsps.replace("GET", URL, json={"ok": 1})
    assert other.get_json("/things") == {"ok": 1}


def test_a_short_hold_set_by_another_clients_429_is_waited_out(rsps, fake_time):
    limiter = RateLimiter(0.0, clock=fake_time.clock)
    limiter.throttled(3.0)  # under max_inline_sleep (5 s)
    rsps.get(URL, json={"ok": 1})

    assert make_http(fake_time, rate_limiter=limiter).get_json("/things") == {"ok": 1}
    assert sum(fake_time.sleeps) == pytest.approx(3.0)


def test_429_with_an_http_date_retry_after(rsps, fake_time):
    later = email.utils.format_datetime(
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), usegmt=True
    )
    rsps.get(URL, status=429, headers={"Retry-After": later})

    with pytest.raises(ProviderRateLimited) as caught:
        make_http(fake_time).get_json("/things")

    assert 3500 < caught.value.retry_after <= 3600


def test_429_without_retry_after_under_the_cap_backs_off_twice_then_raises(
    rsps, fake_time
):
    for _ in range(3):
        rsps.get(URL, status=429, body="")

    with pytest.raises(ProviderRateLimited) as caught:
        make_http(fake_time, max_inline_sleep=5.0, default_retry_after=45.0).get_json(
            "/things"
        )

    assert fake_time.sleeps == [1.0, 2.0]
    assert len(rsps.calls) == 3
    assert caught.value.retry_after == 45.0


def test_429_without_retry_after_over_the_cap_raises_at_once(rsps, fake_time):
    rsps.get(URL, status=429, json=load("complycube", "errors/rate_limited.json"))

    with pytest.raises(ProviderRateLimited) as caught:
        make_http(
            fake_time, max_inline_sleep=0.0, error_parser=complycube_error
        ).get_json("/things")

    assert caught.value.retry_after == 30.0
    assert caught.value.error_type == "rate_limit_exceeded"
    assert len(rsps.calls) == 1


def test_inline_sleep_cap_defaults_to_the_setting(settings, fake_time):
    settings.VERITY_HTTP_MAX_INLINE_SLEEP = 7.5
    assert make_http(fake_time, max_inline_sleep=None).max_inline_sleep == 7.5


def test_complycube_quota_429_is_not_retried_and_asks_for_a_long_wait(rsps, fake_time):
    rsps.get(
        f"{BASE}/workflowSessions",
        status=429,
        json=load("complycube", "errors/quota.json"),
    )
    config = ConnectionConfig(
        slug="cc", kind="complycube", base_url=BASE, credential=TOKEN
    )
    http = ComplyCubeAdapter.make_http(
        config, sleep=fake_time.sleep, clock=fake_time.clock, max_inline_sleep=60.0
    )

    with pytest.raises(ProviderRateLimited) as caught:
        http.get_json("/workflowSessions")

    assert caught.value.error_type == "service_quota_exceeded"
    assert caught.value.retry_after == 3600.0
    assert caught.value.extra["quota"] is True
    assert len(rsps.calls) == 1


def test_503_with_retry_after_is_treated_like_a_rate_limit(rsps, fake_time):
    rsps.get(URL, status=503, headers={"Retry-After": "600"})
    with pytest.raises(ProviderRateLimited) as caught:
        make_http(fake_time).get_json("/things")
    assert caught.value.status == 503
    assert caught.value.retry_after == 600.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(header, expected):
    assert retry_after_seconds(header) == expected


def test_retry_after_in_the_past_is_zero():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# Rate limiting -------------------------------------------------------------------------


def test_requests_are_spaced_to_the_rate_limit(rsps, fake_time):
    rsps.get(URL, json={})
    http = make_http(fake_time, rate=4.0)

    starts = []
    for _ in range(4):
        http.get_json("/things")
        starts.append(fake_time.now)

    assert fake_time.sleeps == [0.25, 0.25, 0.25]
    assert [b - a for a, b in itertools.pairwise(starts)] == [0.25, 0.25, 0.25]


def test_no_wait_when_calls_are_already_far_apart(fake_time):
    limiter = RateLimiter(2.0, clock=fake_time.clock)
    assert limiter.reserve() == 0.0
    fake_time.now += 10
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == 0.5


def test_rate_limiter_gives_concurrent_callers_distinct_slots(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        wait = limiter.reserve()
        with lock:
            waits.append(round(wait, 6))

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == [round(i * 0.1, 6) for i in range(20)]


def test_the_limiter_is_one_per_connection_and_follows_rate_changes(settings):
    settings.VERITY_RATE_LIMIT_URL = "memory"
    first = connection_rate_limiter("onfido:test-shared", 5.0)
    assert connection_rate_limiter("onfido:test-shared", 5.0) is first
    assert connection_rate_limiter("onfido:other-shared", 5.0) is not first
    changed = connection_rate_limiter("onfido:test-shared", 2.0)
    assert changed is not first
    assert changed.interval == 0.5


# Secrets ----------------------------------------------------------------------------------


def _assert_no_secret(error: ProviderError, caplog) -> None:
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in error.message
    assert TOKEN not in repr(error.extra)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.args)


def test_error_bodies_echoing_the_credential_are_scrubbed(rsps, fake_time, secret_logs):
    echo = {
        "error": {
            "type": f"bad_token_{TOKEN}",
            "message": f"Token token={TOKEN} is not valid",
        }
    }
    rsps.get(URL, status=401, json=echo)

    with pytest.raises(ProviderAuthError) as caught:
        make_http(fake_time).get_json("/things")

    _assert_no_secret(caught.value, secret_logs)
    assert "[redacted]" in caught.value.message


def test_transport_errors_and_retries_never_log_the_credential(
    rsps, fake_time, secret_logs
):
    for _ in range(4):
        rsps.get(
            URL,
            body=requests.exceptions.ConnectionError(
                f"refused, headers={{'Authorization': 'Token token={TOKEN}'}}"
            ),
        )

    with pytest.raises(ProviderUnavailable) as caught:
        make_http(fake_time).get_json("/things")

    _assert_no_secret(caught.value, secret_logs)
    assert any("retrying" in record.getMessage() for record in secret_logs.records)


def test_malformed_body_excerpt_is_scrubbed(rsps, fake_time, secret_logs):
    for _ in range(2):
        rsps.get(URL, body=f"<html>debug: key={TOKEN}</html>")

    with pytest.raises(ProviderResponseInvalid) as caught:
        make_http(fake_time).get_json("/things")

    _assert_no_secret(caught.value, secret_logs)


def test_rate_limited_errors_are_scrubbed(rsps, fake_time, secret_logs):
    rsps.get(
        URL,
        status=429,
        headers={"Retry-After": "999"},
        json={"error": {"message": f"key {TOKEN} throttled"}},
    )
    with pytest.raises(ProviderRateLimited) as caught:
        make_http(fake_time).get_json("/things")
    _assert_no_secret(caught.value, secret_logs)


def test_reprs_do_not_show_the_credential(fake_time):
    http = make_http(fake_time)
    config = ConnectionConfig(slug="x", kind="onfido", base_url=BASE, credential=TOKEN)
    assert TOKEN not in repr(http)
    assert TOKEN not in repr(config)


def test_an_invalid_credential_header_is_a_configuration_error_without_the_value(
    fake_time,
):
    http = ProviderHTTP(
        BASE,
        provider="acme",
        headers={"X-API-Key": f"{TOKEN}\n"},
        rate_limit_per_second=0,
        error_parser=ica_error,
        sleep=fake_time.sleep,
    )
    with pytest.raises(ProviderConfigurationError) as caught:
        http.get_json("/things")
    assert TOKEN not in str(caught.value)


# What stopped a request, named from the exception (not its clipped text) ---------


def _unanswered_http(base_url, fake_time, **options):
    return ProviderHTTP(
        base_url,
        provider="acme",
        headers={},
        rate_limit_per_second=0,
        error_parser=onfido_error,
        sleep=fake_time.sleep,
        max_retries=0,
        **options,
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def test_a_refused_connection_is_named_refused_even_behind_a_long_url(fake_time):
    """The words "Connection refused" come after the URL in requests' message,
    past the 300 characters the client keeps: the kind must not depend on them."""
    http = _unanswered_http(f"http://127.0.0.1:{_closed_port()}/v3", fake_time)
    long_query = {"updatedAfter": "2026-12-01T11:49:52.000Z", "pad": "x" * 300}

    with pytest.raises(ProviderUnavailable) as caught:
        http.get_json("/workflowSessions", params=long_query)

    assert "refused" not in str(caught.value).lower()  # clipped away
    assert caught.value.extra["transport"] == "refused"


def test_a_read_timeout_is_named_timeout(fake_time):
    import socket

    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        http = _unanswered_http(f"http://127.0.0.1:{port}", fake_time, read_timeout=0.2)
        with pytest.raises(ProviderUnavailable) as caught:
            http.get_json("/slow")

    assert caught.value.extra["transport"] == "timeout"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (OSError("wrapped"), ""),
    ],
)
def test_transport_failure_reads_the_wrapped_cause(error, kind):
    from sessions_app.providers.transport import transport_failure

    outer = requests.exceptions.ConnectionError("HTTPConnectionPool(...)")
    outer.__cause__ = error

    assert transport_failure(outer) == kind
