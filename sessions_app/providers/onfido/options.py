"""The Onfido `region` option: a token only works in its account's region.

`sessions_app/checks.py` reports a mismatch at start-up (verity.E002) and the
adapter refuses to start with one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ...sync.values import text

# Onfido's API regions (https://api.<region>.onfido.com/v3.6).
REGIONS = ("eu", "us", "ca")


def region_problem(base_url: str, region: Any) -> str | None:
    """Return why the `region` option does not fit `base_url`, or None if it does.

    Without a region there is nothing to check (the base URL chooses). A region
    must be one of `REGIONS`, and a base URL on an onfido.com host must then be
    that region's API host, `api.<region>.onfido.com`: a token is only valid in
    the region its account lives in, and the un-regioned `api.onfido.com` is
    legacy. Other hosts (the local simulator, a proxy) are not checked.
    """
    if region is None or region == "":
        return None
    if not isinstance(region, str) or region.strip().lower() not in REGIONS:
        return (
            f"region {text(region, limit=40)!r} is not an Onfido region "
            f"(use one of {', '.join(REGIONS)})"
        )
    region = region.strip().lower()
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    expected = f"api.{region}.onfido.com"
    if (host == "onfido.com" or host.endswith(".onfido.com")) and host != expected:
        return f"region {region!r} needs the base URL host {expected}, not {host}"
    return None
