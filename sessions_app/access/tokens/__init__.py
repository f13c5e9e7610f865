"""API tokens: named, expiring, revocable, hashed at rest (django-rest-knox).

`models` (ApiToken, knox's token model swapped for Verity's: a name and the
last use), `services` (mint, revoke, revoke all, the last-use stamp: every
write audited), `selectors` (a user's tokens, all tokens), `authentication`
(DRF: `Authorization: Token <secret>`), `signals` (a deactivation or password
change revokes the user's tokens), `forms` (the mint form). The pages are the
account page (`sessions_app/views/account.py`) and the admin
(`sessions_app/admin/tokens.py`).
"""
