"""`SelectFastRenderer` writes every select exactly as Django's templates do."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sessions_app.form_rendering import SelectFastRenderer

DJANGO = DjangoTemplates()
FAST = SelectFastRenderer()

words = st.text(
    alphabet=st.sampled_from(list("ab Z9_-'\"<>&é✓\n")), min_size=0, max_size=6
)
# Safe labels are not escaped; numbers and dates are localized.
labels = st.one_of(
    words,
    words.map(mark_safe),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
)
values = st.one_of(words, st.integers(), st.booleans())
flat = st.lists(st.tuples(values, labels), max_size=5, unique_by=lambda c: str(c[0]))
grouped = st.lists(
    st.tuples(words.filter(bool), flat),
    min_size=1,
    max_size=3,
    unique_by=lambda g: g[0],
)
attr_values = st.one_of(
    st.booleans(), st.none(), words, words.map(mark_safe), st.integers()
)


def _both(widget: forms.Widget, name: str, value, attrs) -> tuple[str, str]:
    return (
        widget.render(name, value, attrs=attrs, renderer=DJANGO),
        widget.render(name, value, attrs=attrs, renderer=FAST),
    )


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    choices=st.one_of(flat, grouped.map(lambda g: [*g])),
    multiple=st.booleans(),
    name=words,
    picked=st.lists(values, max_size=3),
    attrs=st.dictionaries(
        st.sampled_from(["id", "class", "aria-describedby", "required", "disabled"]),
        attr_values,
        max_size=3,
    ),
)
def test_every_select_is_written_as_djangos_templates_write_it(
    choices, multiple, name, picked, attrs
):
    widget = (forms.SelectMultiple if multiple else forms.Select)(choices=choices)
    value = picked if multiple else (picked[0] if picked else None)

    theirs, ours = _both(widget, name, value, attrs)

    assert ours == theirs


def test_a_null_boolean_select_and_a_bound_field_render_as_before():
    class Filters(forms.Form):
        state = forms.ChoiceField(
            choices=[("", "Any"), ("open", "Open & new")],
            required=False,
            help_text="Help",
        )
        flag = forms.NullBooleanField()

    form = Filters(data={"state": "nope", "flag": "true"})  # an error shown
    form.is_valid()
    rendered = {}
    for renderer in (DJANGO, FAST):
        form.renderer = renderer
        rendered[renderer] = [str(form["state"]), str(form["flag"])]

    assert rendered[FAST] == rendered[DJANGO]
    assert 'aria-invalid="true"' in rendered[FAST][0]
    assert '<option value="true" selected>Yes</option>' in rendered[FAST][1]


def test_a_select_with_an_option_template_of_its_own_takes_djangos_path(monkeypatch):
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Custom(choices=[("a", "A")])
    called = []
    monkeypatch.setattr(
        "sessions_app.form_rendering.select_html",
        lambda w: called.append(w) or "fast",
    )

    html = widget.render("x", "a", renderer=FAST)

    assert called == []
    assert html == widget.render("x", "a", renderer=DJANGO)
    assert forms.Select(choices=[("a", "A")]).render("x", "a", renderer=FAST) == "fast"


@pytest.mark.django_db
def test_the_site_renders_its_forms_with_it(client):
    assert settings.FORM_RENDERER == "sessions_app.form_rendering.SelectFastRenderer"
    assert isinstance(get_default_renderer(), SelectFastRenderer)
    assert FAST._django_selects  # Django's own select templates, not an app's


def test_numbers_and_dates_are_localized_as_the_templates_localize_them(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    widget = forms.Select(
        choices=[(1, 1234567), ("d", dt.date(2026, 12, 6)), ("f", 1234.5)]
    )

    theirs, ours = _both(widget, "n", 1, {"data-max": 1234567})

    assert ours == theirs
    assert "1,234,567" in ours  # the label localized, not the attribute
    assert 'data-max="1234567"' in ours
