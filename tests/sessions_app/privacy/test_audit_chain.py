"""The audit trail's hash chain: appends link, and every kind of tampering is found."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from sessions_app.models import (
    CHAIN_GENESIS_HASH,
    AuditChainHead,
    AuditChainVerification,
    AuditEvent,
    Client,
)
from sessions_app.privacy import audit_chain
from sessions_app.privacy.audit_chain import (
    BREAK_DELETED,
    BREAK_EDITED,
    BREAK_HEAD,
    BREAK_RELINKED,
    BREAK_REORDERED,
    BREAK_REWRITTEN,
    audit_chain_verify,
    chain_verify,
    event_canonical,
    event_hash,
)
from sessions_app.services import audit_event_record
from tests.factories import ClientFactory, UserFactory
from tests.helpers.audit_chain import events_write, tamper

pytestmark = pytest.mark.django_db


def _row(event: AuditEvent) -> dict:
    return {name: getattr(event, name) for name in audit_chain.CHAIN_COLUMNS}


# --- The canonical form ----------------------------------------------------------------


def test_canonical_form_is_the_documented_json():
    fields = {
        "id": 7,
        "sequence": 3,
        "prev_hash": "ab" * 32,
        "hash": "",
        "created_at": dt.datetime(
            2026, 1, 2, 4, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=1))
        ),
        "actor_id": 5,
        "actor_label": "rita",
        "source": "web",
        "action": "review.approve",
        "object_type": "sessions_app.workflowsession",
        "object_id": "42",
        "object_repr": "Zoë",
        "client_id": None,
        "before": {},
        "after": {"b": 1.0, "a": [0.5, 1e16]},
    }
    expected = (
        '{"action":"review.approve","actor_id":5,"actor_label":"rita",'
        '"after":{"a":[0.5,10000000000000000],"b":1},"before":{},"client_id":null,'
        '"created_at":"2026-01-02T03:04:05.678901Z","object_id":"42",'
        '"object_repr":"Zo\\u00eb","object_type":"sessions_app.workflowsession",'
        f'"prev_hash":"{"ab" * 32}","sequence":3,"source":"web","v":1}}'
    )
    assert event_canonical(fields) == expected.encode("ascii")
    assert event_hash(fields) == hashlib.sha256(expected.encode("ascii")).hexdigest()


def test_appended_events_link_into_a_chain():
    first, second, third = events_write(3)
    assert [e.sequence for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == CHAIN_GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    for event in AuditEvent.objects.all():
        # What the database gives back hashes to what was stored.
        assert event_hash(_row(event)) == event.hash
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.hash) == (3, third.hash)
    assert chain_verify().intact


def test_values_the_database_normalises_still_verify():
    """jsonb gives 1e16 back as an integer and reorders keys; whole floats and
    non-ASCII text hash the same either way."""
    user = UserFactory(username="zoë-reviewer")
    client = ClientFactory()
    audit_event_record(
        actor=user,
        source="web",
        action="test.values",
        obj=client,
        client=client,
        before={"z": 1.0, "a": None, "nested": {"y": [1, 2.5, "é"]}},
        after={"big": 1e16, "small": 1.5e-7, "text": "line\nbreak \u2028 ☃"},
    )
    event = AuditEvent.objects.get(action="test.values")
    assert event_hash(_row(event)) == event.hash
    assert chain_verify().intact


def test_a_chain_appended_after_its_head_row_was_lost_carries_on():
    """A flushed database has no head row: the next append rebuilds it from the
    newest event."""
    events_write(2)
    AuditChainHead.objects.all().delete()
    (third,) = events_write(1)
    assert third.sequence == 3
    assert chain_verify().intact


def test_an_empty_chain_is_intact():
    finding = chain_verify()
    assert finding.intact
    assert (finding.events_checked, finding.last_sequence) == (0, 0)


# --- Tampering, found ------------------------------------------------------------------


def test_an_edited_event_is_found_where_it_is():
    events = events_write(5)
    tamper("UPDATE {table} SET action = 'test.forged' WHERE id = %s", [events[2].pk])
    finding = chain_verify()
    assert not finding.intact
    assert (finding.break_sequence, finding.break_event_id) == (3, events[2].pk)
    assert finding.break_kind == BREAK_EDITED
    assert finding.events_checked == 2


def test_an_edited_json_value_is_found():
    events = events_write(3)
    tamper(
        "UPDATE {table} SET after = %s WHERE id = %s",
        [json.dumps({"index": 99}), events[1].pk],
    )
    finding = chain_verify()
    assert (finding.break_sequence, finding.break_kind) == (2, BREAK_EDITED)


def test_a_deleted_event_leaves_a_gap():
    events = events_write(5)
    tamper("DELETE FROM {table} WHERE id = %s", [events[1].pk])
    finding = chain_verify()
    assert not finding.intact
    assert finding.break_kind == BREAK_DELETED
    assert (finding.break_sequence, finding.break_event_id) == (3, events[2].pk)
    assert "sequence 2 missing" in finding.break_detail


def test_deleting_the_newest_events_is_found_by_the_head():
    events = events_write(4)
    tamper("DELETE FROM {table} WHERE sequence >= 3")
    finding = chain_verify()
    assert finding.break_kind == BREAK_DELETED
    assert finding.break_sequence is None
    assert finding.last_sequence == 2
    assert "sequences 3 to 4 missing at the end" in finding.break_detail
    assert events


def test_deleting_the_newest_events_and_the_head_is_found_by_the_last_verification():
    events_write(4)
    # Anchors sequence 4 (the verification's own event is 5).
    assert audit_chain_verify().intact
    tamper("DELETE FROM {table} WHERE sequence >= 4")
    AuditChainHead.objects.update(
        sequence=3, hash=AuditEvent.objects.get(sequence=3).hash
    )
    finding = chain_verify()
    assert not finding.intact
    assert finding.break_kind == BREAK_DELETED
    assert "earlier verification saw it reach 4" in finding.break_detail


def test_a_changed_head_is_found():
    events_write(2)
    AuditChainHead.objects.update(hash="f" * 64)
    finding = chain_verify()
    assert finding.break_kind == BREAK_HEAD


def test_reordered_events_are_found():
    events = events_write(4)
    # Swap the places of the 2nd and 3rd events (sequence is unique: via 0).
    tamper("UPDATE {table} SET sequence = 0 WHERE id = %s", [events[1].pk])
    tamper("UPDATE {table} SET sequence = 2 WHERE id = %s", [events[2].pk])
    tamper("UPDATE {table} SET sequence = 3 WHERE id = %s", [events[1].pk])
    finding = chain_verify()
    assert not finding.intact
    assert finding.break_kind == BREAK_REORDERED
    assert (finding.break_sequence, finding.break_event_id) == (2, events[2].pk)


def test_a_relinked_event_is_found():
    """An event moved behind another one with its hash recomputed: its content
    matches, its link does not."""
    events = events_write(4)
    moved = events[2]
    fields = _row(moved) | {"prev_hash": events[0].hash}
    tamper(
        "UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s",
        [events[0].hash, event_hash(fields), moved.pk],
    )
    finding = chain_verify()
    assert finding.break_kind == BREAK_RELINKED
    assert (finding.break_sequence, finding.break_event_id) == (3, moved.pk)


def test_a_chain_recomputed_after_a_verification_is_found():
    """Someone edits an event and recomputes every hash after it: the chain
    links again, but not to the tail an earlier verification recorded."""
    events_write(3)
    assert audit_chain_verify().intact  # anchors sequence 3
    tamper("UPDATE {table} SET action = 'test.forged' WHERE sequence = 2")
    prev = AuditEvent.objects.get(sequence=1).hash
    for event in AuditEvent.objects.filter(sequence__gte=2).order_by("sequence"):
        fields = _row(event) | {"prev_hash": prev}
        prev = event_hash(fields)
        tamper(
            "UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s",
            [fields["prev_hash"], prev, event.pk],
        )
    AuditChainHead.objects.update(hash=prev)
    finding = chain_verify()
    assert finding.break_kind == BREAK_REWRITTEN
    assert finding.break_sequence == 3


# --- Deleting a user or a client ---------------------------------------------------------


def test_deleting_a_user_and_a_client_leaves_the_chain_intact():
    user = UserFactory(username="leaving-officer")
    client = ClientFactory()
    event = audit_event_record(
        actor=user, source="web", action="test.by_user", obj=client, client=client
    )
    user_id, client_id = user.pk, client.pk
    user.delete()
    Client.objects.filter(pk=client_id).delete()
    stored = AuditEvent.objects.select_related("actor").get(pk=event.pk)
    assert (stored.actor_id, stored.client_id) == (user_id, client_id)
    assert stored.actor is None  # the user is gone; the label stays
    assert stored.actor_label == "leaving-officer"
    assert stored.hash == event.hash
    assert chain_verify().intact


# --- Recording a verification ---------------------------------------------------------------


def test_a_verification_is_recorded_and_written_to_the_chain():
    events_write(2)
    verification = audit_chain_verify(chunk_size=1)
    assert verification.intact
    assert (verification.events_checked, verification.last_sequence) == (2, 2)
    assert AuditChainVerification.objects.get() == verification
    event = AuditEvent.objects.get(action="audit_chain.verify")
    assert event.sequence == 3
    assert event.object_id == str(verification.pk)
    assert event.after["intact"] is True
    assert chain_verify().intact


def test_a_broken_chain_is_recorded_with_where_it_breaks():
    events = events_write(3)
    tamper("UPDATE {table} SET object_repr = 'x' WHERE id = %s", [events[0].pk])
    verification = audit_chain_verify()
    assert not verification.intact
    assert verification.break_sequence == 1
    assert verification.break_event_id == events[0].pk
    assert verification.break_kind == BREAK_EDITED
    assert verification.events_checked == 0
