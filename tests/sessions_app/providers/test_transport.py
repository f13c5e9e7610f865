"""`RequestPreparer` sends what `requests.Request(...).prepare()` would."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app.providers.transport import RequestPreparer

BASES = (
    "https://api.eu.onfido.com/v3.6",
    "http://127.0.0.1:8765/complycube/v1/",
    "https://ica.illumina.com/ica/rest",
)
# Plain characters most of the time, with every kind `prepare()` rewrites.
PATH_CHARS = st.sampled_from(
    [*"abcXYZ019-._~/", "%", "%2F", " ", "é", "?", "#", "..", "./", "+", "@", ":"]
)
paths = st.lists(PATH_CHARS, max_size=12).map("".join)
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8
)
values = st.one_of(
    st.none(),
    words,
    st.integers(),
    st.lists(st.one_of(words, st.integers()), max_size=3),
)
params = st.one_of(st.none(), st.dictionaries(words, values, max_size=4))


def _as_requests_prepares(method, base, path, params, data, headers):
    return requests.Request(
        method,
        f"{base.rstrip('/')}/{path.lstrip('/')}",
        params=params,
        data=data,
        headers={k: v for k, v in headers.items() if v is not None},
    ).prepare()


def _same(ours: requests.PreparedRequest, theirs: requests.PreparedRequest) -> None:
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert dict(ours.headers) == dict(theirs.headers)
    assert ours.body == theirs.body


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(BASES),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=paths,
    params=params,
)
def test_every_path_and_parameters_are_prepared_as_requests_prepares_them(
    base, method, path, params
):
    data = b'{"a": 1}' if method == "POST" else None
    headers = {"Accept": "application/json", "Authorization": "Token x", "X-Gone": None}
    if data is not None:
        headers["Content-Type"] = "application/json"

    ours = RequestPreparer(base).prepare(
        method, path, params=params, data=data, headers=headers
    )

    _same(ours, _as_requests_prepares(method, base, path, params, data, headers))


def test_a_plain_path_and_parameters_skip_the_url_parsing():
    preparer = RequestPreparer("https://api.eu.onfido.com/v3.6")

    assert preparer.base_is_plain
    assert (
        preparer.url(
            "/workflow_runs/0f3c-9a.b_c~d", {"page": 2, "status": ["a b", "c"]}
        )
        == "https://api.eu.onfido.com/v3.6/workflow_runs/0f3c-9a.b_c~d?page=2&status=a+b&status=c"
    )
    assert (
        preparer.url("projects/p-1/workflowSessions/s-1/analyses:search", None)
        == "https://api.eu.onfido.com/v3.6/projects/p-1/workflowSessions/s-1/analyses:search"
    )
    # Only `prepare()` knows what these become.
    for path in ("runs/a%2Fb", "runs/é", "runs/../x", "runs/./x", "runs/a b", "a?b=1"):
        assert preparer.url(path, None) is None, path
    assert preparer.url("runs", "page=2") is None


def test_a_base_url_requests_would_rewrite_always_takes_the_full_preparation():
    for base in (
        "https://user:secret@api.example.test/v1",  # Basic auth from the URL
        "https://bücher.example/v1",  # an IDNA host
        "not a url",  # refused by requests: each request fails as before
    ):
        assert not RequestPreparer(base).base_is_plain, base

    prepared = RequestPreparer("https://user:secret@api.example.test/v1").prepare(
        "GET", "/things", headers={}
    )
    assert prepared.headers["Authorization"].startswith("Basic ")


def test_no_cookie_is_sent_and_a_redirect_can_be_read():
    prepared = RequestPreparer("https://api.example.test/v1").prepare(
        "GET", "things", headers={"Cookie": None}
    )

    assert "Cookie" not in prepared.headers
    # `Session.send` extracts a redirect's cookies into this jar.
    assert len(prepared._cookies) == 0


def test_headers_checked_once_still_give_each_request_its_own():
    preparer = RequestPreparer(BASES[0])
    headers = {"Authorization": "Token token=k", "Accept": "application/json"}

    post = preparer.prepare("POST", "things", data=b'{"a": 1}', headers=headers)
    get = preparer.prepare("GET", "things", headers=headers)
    get.headers["X-Later"] = "changed after"
    again = preparer.prepare("GET", "things", headers=headers)

    assert post.headers["Content-Length"] == "8"
    assert "Content-Length" not in get.headers  # the POST's body left nothing
    assert "X-Later" not in again.headers
    assert (
        again.headers
        == _as_requests_prepares("GET", BASES[0], "things", None, None, headers).headers
    )
    # A header requests refuses is refused on every request, as before.
    for _ in range(2):
        with pytest.raises(requests.exceptions.InvalidHeader):
            preparer.prepare("GET", "things", headers={"X-Bad": "a\nb"})
