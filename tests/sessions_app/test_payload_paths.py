"""The payload path language: `*`, `**`, lists transparent, cut and mask."""

from __future__ import annotations

import pytest

from sessions_app.payload_paths import MASK, PathSet, masked


def test_a_path_names_keys_from_the_root_and_lists_are_transparent():
    paths = PathSet(("checks.entityName",))
    data = {"entityName": "top", "checks": [{"entityName": "A"}, {"entityName": "B"}]}
    assert paths.cut(data) == {"entityName": "top", "checks": [{}, {}]}
    assert paths.found(data) == ["checks.entityName"]


def test_double_star_matches_any_depth_and_star_one_key():
    deep = PathSet(("**.sdk_token",))
    data = {"sdk_token": "a", "x": {"y": [{"sdk_token": "b", "keep": 1}]}}
    assert deep.cut(data) == {"x": {"y": [{"keep": 1}]}}
    one = PathSet(("output.*.properties.dob",))
    data = {"output": {"doc": {"properties": {"dob": "1990", "type": "p"}}}}
    assert one.mask(data) == {
        "output": {"doc": {"properties": {"dob": MASK, "type": "p"}}}
    }


def test_mask_keeps_keys_and_shapes_and_leaves_empties():
    assert masked({"a": ["x", 1, None, ""], "b": {"c": True}}) == {
        "a": [MASK, MASK, None, ""],
        "b": {"c": MASK},
    }
    paths = PathSet(("address",))
    assert paths.mask({"address": {"line1": "1 High St"}, "id": 7}) == {
        "address": {"line1": MASK},
        "id": 7,
    }


def test_value_markers_cut_a_string_wherever_it_is():
    paths = PathSet((), value_markers=("X-Amz-Signature=",))
    data = {
        "a": ["https://s3/x?X-Amz-Signature=1", "plain"],
        "b": "https://s3/?X-Amz-Signature=2",
    }
    assert paths.cut(data) == {"a": ["plain"]}


def test_nothing_to_do_returns_the_same_object():
    paths = PathSet(("**.secret",))
    data = {"a": {"b": 1}}
    assert paths.cut(data) is data
    assert paths.mask(data) is data


def test_an_empty_segment_is_refused():
    with pytest.raises(ValueError, match="Empty segment"):
        PathSet(("a..b",))


def test_the_step_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr("sessions_app.payload_paths.STEP_CACHE_MAX", 3)
    paths = PathSet(("**.secret",))
    data = {f"id-{n}": {"secret": "s", "keep": n} for n in range(10)}
    assert paths.cut(data) == {f"id-{n}": {"keep": n} for n in range(10)}
    assert len(paths._steps) <= 3
