"""The client's IP address, for the login lockout (django-axes'
AXES_CLIENT_IP_CALLABLE) and anything else that needs to tell clients apart.

Behind reverse proxies every request comes from the last proxy's address
(REMOTE_ADDR), so keyed on it a lockout would be shared by every user: anyone
could lock out a named officer. `VERITY_TRUSTED_PROXY_COUNT` says how many
proxies stand in front of Verity, each appending the address it was reached
from to X-Forwarded-For; the client is the entry that many places from the
right. Entries further left are whatever the client sent (spoofable) and are
never used. 0 (the default: no proxy) uses REMOTE_ADDR and ignores the header.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip_address(request: HttpRequest) -> str | None:
    """The address of the client that sent `request`, as the trusted proxies saw it."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = int(getattr(settings, "VERITY_TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [part.strip() for part in header.split(",") if part.strip()]
    if len(chain) < trusted:
        # Not through every trusted proxy: nothing in the header is vouched for.
        return remote
    return chain[-trusted]
