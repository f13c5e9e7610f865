"""ICA's two paging modes, shared by the project list and both searches.

Cursor mode by default: `pageSize` + `pageToken`; the reply carries
`nextPageToken` (null on the last page) and `remainingRecords`. The token is
opaque to clients (base64 of the listing, the offset and a check derived from
the seed), and a token that is not ours is a 400 `ICA_API_010`. Offset mode
when `sort` or `pageOffset` is given: `nextPageToken` is "" and
`totalItemCount` is set. Cursor order is creation order, so sessions created
while a client pages appear on later pages and none is skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ..config import ICA_DEFAULT_PAGE_SIZE, ICA_MAX_PAGE_SIZE, ICA_MEDIA_TYPE
from ..wire import SimRequest, SimResponse
from .render import problem


def page_token(seed: int, kind: str, offset: int) -> str:
    """An opaque cursor: the offset in listing `kind`, checked against the seed."""
    raw = f"{kind}:{offset}"
    check = hashlib.sha256(f"{seed}:{raw}".encode()).hexdigest()[:8]
    return base64.urlsafe_b64encode(f"{raw}:{check}".encode()).decode().rstrip("=")


def page_token_offset(seed: int, kind: str, token: str) -> int | None:
    """The offset a `page_token` stands for, or None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    token_kind, _, rest = text.partition(":")
    offset_text, _, _check = rest.partition(":")
    if (
        token_kind != kind
        or not offset_text.isdigit()
        or page_token(seed, kind, int(offset_text)) != token
    ):
        return None
    return int(offset_text)


def paged_response(
    request: SimRequest,
    *,
    seed: int,
    kind: str,
    items: Sequence[Any],
    render: Callable[[Any], dict[str, Any]],
    sorts: dict[str, Callable[[dict[str, Any]], Any]],
    list_page: bool = False,
    detail: bool = False,
) -> SimResponse:
    """One page of `items` (rendered by `render`), in the mode the request asks for.

    `kind` names the listing, so a token from one listing is refused by another;
    `sorts` maps the attributes the offset mode may sort on to a key over the
    rendered item. A bad pageSize, pageOffset, sort or pageToken is a 400.
    """
    size_text = request.param("pageSize")
    if size_text in (None, ""):
        size = ICA_DEFAULT_PAGE_SIZE
    elif size_text.isdigit() and int(size_text) >= 1:
        size = min(int(size_text), ICA_MAX_PAGE_SIZE)
    else:
        return problem(
            400,
            "bad_request",
            "pageSize must be a positive integer.",
            parameters={"pageSize": size_text},
        )
    sort = request.param("sort")
    offset_text = request.param("pageOffset")
    if sort or offset_text not in (None, ""):
        if offset_text in (None, ""):
            offset = 0
        elif offset_text.isdigit():
            offset = int(offset_text)
        else:
            return problem(
                400,
                "bad_request",
                "pageOffset must be a non-negative integer.",
                parameters={"pageOffset": offset_text},
            )
        rendered = [render(item) for item in items]
        for clause in reversed(
            [c.strip() for c in (sort or "").split(",") if c.strip()]
        ):
            attribute, _, direction = clause.partition(" ")
            if attribute not in sorts or direction.strip().lower() not in {
                "",
                "asc",
                "desc",
            }:
                return problem(
                    400,
                    "bad_request",
                    f"Sorting on {clause!r} is not supported.",
                    parameters={"sort": sort or ""},
                )
            rendered.sort(
                key=sorts[attribute], reverse=direction.strip().lower() == "desc"
            )
        payload = {
            "items": rendered[offset : offset + size],
            "nextPageToken": "",
            "totalItemCount": len(rendered),
        }
    else:
        token = request.param("pageToken")
        offset = 0
        if token:
            decoded = page_token_offset(seed, kind, token)
            if decoded is None:
                return problem(
                    400,
                    "invalid_page_token",
                    "The page token is invalid or expired.",
                    parameters={"pageToken": token},
                )
            offset = decoded
        chunk = list(items[offset : offset + size])
        following = offset + len(chunk)
        remaining = max(0, len(items) - following)
        payload = {
            "items": [render(item) for item in chunk],
            "nextPageToken": page_token(seed, kind, following) if remaining else None,
            "remainingRecords": remaining,
        }
    return SimResponse(
        200,
        payload,
        content_type=ICA_MEDIA_TYPE,
        list_page=list_page,
        detail=detail,
    )
