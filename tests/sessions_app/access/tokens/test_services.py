"""The tokens service: minting (hashed at rest, audited, within the roles),
revoking (owner or admin, audited), revoking all, the last-use stamp."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from sessions_app.access.tokens.services import (
    api_token_lifetimes_days,
    api_token_mint,
    api_token_revoke,
    api_token_used_record,
    api_tokens_revoke_all,
)
from sessions_app.exceptions import ApplicationError
from sessions_app.models import ApiToken, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _recorded(event: AuditEvent) -> str:
    return json.dumps(
        [event.object_id, event.object_repr, event.before, event.after], default=str
    )


@pytest.mark.parametrize("role", ["viewer", "reviewer", "exporter", "admin"])
def test_every_desk_role_may_mint_a_token_for_itself(role):
    user = UserFactory(roles=[role])
    token, secret = api_token_mint(user=user, name="script", days=30)
    assert token.user == user
    assert secret.startswith("verity_")


def test_a_token_is_hashed_at_rest(viewer):
    token, secret = api_token_mint(user=viewer, name="reporting", days=7)
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    stored = json.dumps(row, default=str)
    assert secret not in stored
    # What the row holds of the secret: its SHA-512 digest, and the first 15
    # characters knox looks the row up by (the prefix and 8 of 64 hex digits).
    assert row["digest"] == hashlib.sha512(secret.encode()).hexdigest()
    assert row["token_key"] == secret[:15]
    assert len(secret) == len("verity_") + 64
    assert secret[15:] not in stored


def test_minting_is_audited_with_name_and_prefix_never_the_secret(viewer, clock):
    token, secret = api_token_mint(user=viewer, name="reporting", days=30)
    event = AuditEvent.objects.get(action="api_token.mint")
    assert event.actor == viewer
    assert event.source == "web"
    assert event.object_type == "sessions_app.apitoken"
    assert event.object_id == token.token_key
    assert event.after["name"] == "reporting"
    assert event.after["key_prefix"] == token.token_key
    assert event.after["owner"] == viewer.username
    assert event.after["expires_at"] == (clock.now + dt.timedelta(days=30)).isoformat()
    recorded = _recorded(event)
    assert secret not in recorded
    assert token.digest not in recorded


def test_a_user_without_a_role_may_not_mint():
    nobody = UserFactory(username="no-role")
    with pytest.raises(ApplicationError, match="roles do not include API access"):
        api_token_mint(user=nobody, name="x", days=7)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_inactive_user_may_not_mint(viewer):
    viewer.is_active = False
    viewer.save()
    with pytest.raises(ApplicationError):
        api_token_mint(user=viewer, name="x", days=7)


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("   ", 7, "needs a name"),
        ("x" * 101, 7, "at most 100 characters"),
        ("ok", 3, "not 3"),
        ("ok", 91, "not 91"),
    ],
)
def test_bad_input_is_refused_and_mints_nothing(viewer, name, days, message):
    with pytest.raises(ApplicationError, match=message):
        api_token_mint(user=viewer, name=name, days=days)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_name_is_unique_among_the_users_tokens(viewer, reviewer):
    api_token_mint(user=viewer, name="ci", days=7)
    with pytest.raises(ApplicationError, match="already have a token named 'ci'"):
        api_token_mint(user=viewer, name=" ci ", days=7)
    api_token_mint(user=reviewer, name="ci", days=7)  # another user's own
    assert ApiToken.objects.count() == 2


def test_lifetimes_are_capped_by_the_setting(settings, viewer):
    assert api_token_lifetimes_days() == [7, 30, 90]
    settings.VERITY_API_TOKEN_MAX_DAYS = 14
    assert api_token_lifetimes_days() == [7, 14]
    with pytest.raises(ApplicationError):
        api_token_mint(user=viewer, name="long", days=30)
    token, _ = api_token_mint(user=viewer, name="short", days=14)
    assert token.expiry - token.created == pytest.approx(
        dt.timedelta(days=14), abs=dt.timedelta(seconds=5)
    )
    settings.VERITY_API_TOKEN_MAX_DAYS = 365
    assert api_token_lifetimes_days() == [7, 30, 90, 365]


def test_the_owner_revokes_a_token_audited(viewer):
    token, secret = api_token_mint(user=viewer, name="old", days=7)
    api_token_revoke(token=token, actor=viewer, source="web")
    assert not ApiToken.objects.exists()
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.source, event.object_id) == (
        viewer,
        "web",
        token.token_key,
    )
    assert event.before["name"] == "old"
    assert secret not in _recorded(event)


def test_an_admin_revokes_another_users_token(viewer, admin_user):
    token, _ = api_token_mint(user=viewer, name="theirs", days=7)
    api_token_revoke(token=token, actor=admin_user, source="admin")
    assert not ApiToken.objects.exists()
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.source) == (admin_user, "admin")
    assert event.before["owner"] == viewer.username


def test_another_user_may_not_revoke_a_token(viewer, reviewer):
    token, _ = api_token_mint(user=viewer, name="mine", days=7)
    with pytest.raises(ApplicationError, match="owner or an admin"):
        api_token_revoke(token=token, actor=reviewer, source="web")
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert not AuditEvent.objects.filter(action="api_token.revoke").exists()


def test_revoking_twice_writes_one_event(viewer):
    token, _ = api_token_mint(user=viewer, name="once", days=7)
    api_token_revoke(token=token, actor=viewer)
    api_token_revoke(token=token, actor=viewer)
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_revoke_all_revokes_only_the_users_tokens_one_event_each(viewer, reviewer):
    for name in ("a", "b", "c"):
        api_token_mint(user=viewer, name=name, days=7)
    kept, _ = api_token_mint(user=reviewer, name="a", days=7)
    count = api_tokens_revoke_all(
        user=viewer, actor=None, source="system", reason="user_deactivated"
    )
    assert count == 3
    assert list(ApiToken.objects.all()) == [kept]
    events = AuditEvent.objects.filter(action="api_token.revoke")
    assert sorted(e.before["name"] for e in events) == ["a", "b", "c"]
    for event in events:
        assert event.actor is None
        assert (event.actor_label, event.source) == ("system", "system")
        assert event.after == {"reason": "user_deactivated"}


def test_last_use_is_stamped_at_most_once_a_minute(viewer, clock):
    token, _ = api_token_mint(user=viewer, name="used", days=7)
    assert token.last_used_at is None
    first = clock.now
    api_token_used_record(token=token)
    clock.advance(seconds=30)
    api_token_used_record(token=token)
    assert ApiToken.objects.get().last_used_at == first
    clock.advance(seconds=31)
    api_token_used_record(token=token)
    assert ApiToken.objects.get().last_used_at == clock.now


def test_model_string_shows_name_and_prefix_never_the_digest(viewer):
    token, _ = api_token_mint(user=viewer, name="named", days=7)
    assert str(token) == f"named ({token.token_key}…)"
    assert token.digest not in str(token)
