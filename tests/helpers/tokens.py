"""API tokens for tests: minted the way users mint them (the tokens service)."""

from __future__ import annotations

from itertools import count
from typing import Any

from django.test import Client as DjangoClient

from sessions_app.access.tokens.services import api_token_mint

_names = count(1)


def api_token_secret(user: Any, *, name: str = "", days: int = 7) -> str:
    """Mint a token for `user` (who needs a role that reads the API); return its secret."""
    _, secret = api_token_mint(
        user=user, name=name or f"test token {next(_names)}", days=days
    )
    return secret


def api_token_client(user: Any, **kwargs: Any) -> DjangoClient:
    """A test client that sends a fresh token of `user` with every request."""
    secret = api_token_secret(user, **kwargs)
    return DjangoClient(headers={"Authorization": f"Token {secret}"})
