"""The REST API's body parsers (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

A module of its own, importing no view: DRF reads the setting while
`rest_framework.views` is being imported, so a parser defined beside the
views (apis.py) would be a circular import.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body nested deeper than Python can decode.

    `json.load` raises RecursionError (not ValueError, which DRF turns into a
    400) for arrays or objects nested about a thousand levels deep: without
    this, such a body is a 500.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from exc
