"""Links to object pages for long lists: reversed once per list, not per row.

`reverse()` walks the URL resolver and `build_absolute_uri()` re-reads the
request on every call; a 100-row queue page or API page makes two links a
row, which cost a third of the API's serialisation, and an export makes a
million. A builder reverses a
detail URL once, with a placeholder id, and then only formats ids into it.
Build one per request or render (the script prefix and host belong to it),
never one per process.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

# No real primary key has these digits at the end of a path; `rpartition`
# substitutes the last occurrence, so a prefix that happens to hold them
# (a script name) is left alone.
_PLACEHOLDER = "987654321987"


def detail_url_parts(
    view_name: str, *, absolute: Callable[[str], str] | None = None
) -> tuple[str, str]:
    """Return what comes before and after the id in `view_name`'s URL.

    `view_name` must take the object's integer primary key as its only
    argument (`<int:pk>`); `absolute` (a request's `build_absolute_uri`)
    makes the URL absolute. The CSV export joins the parts in SQL.
    """
    path = reverse(view_name, args=[int(_PLACEHOLDER)])
    url = absolute(path) if absolute is not None else path
    before, found, after = url.rpartition(_PLACEHOLDER)
    if not found:  # pragma: no cover - the int converter keeps digits as they are
        raise ValueError(f"{view_name!r} does not put its id in the URL")
    return before, after


def detail_url_builder(
    view_name: str, *, absolute: Callable[[str], str] | None = None
) -> Callable[[object], str]:
    """Return `pk -> reverse(view_name, args=[pk])` (see `detail_url_parts`)."""
    before, after = detail_url_parts(view_name, absolute=absolute)
    return lambda pk: f"{before}{int(pk)}{after}"
