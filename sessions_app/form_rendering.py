"""The form renderer (`FORM_RENDERER`): Django's, with its `<select>` written in
Python.

Django renders a select through its template and every option through an
`{% include %}` of its own: the queue's filter and bulk-work forms hold 91
options, and those includes were the largest single cost of its first page
after the SQL (docs/PERFORMANCE.md, section 1f). `SelectFastRenderer` writes
the same markup (the same whitespace, attributes and escaping as
`django/forms/widgets/select.html` and `select_option.html`) from the same
widget context, so `Select`, `SelectMultiple` and `NullBooleanSelect` render
byte for byte as before; any other template, an option with a template of
its own, or an app overriding Django's select templates takes Django's path.
tests/sessions_app/test_form_rendering.py compares both on generated widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime

SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _attrs(attrs: Mapping[str, Any]) -> str:
    """`django/forms/widgets/attrs.html`: False leaves the attribute out, True
    writes its name alone, anything else its text (`stringformat:'s'`)."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {_shown(name)}")
        else:
            parts.append(f' {_shown(name)}="{_text(value)}"')
    return "".join(parts)


def _shown(value: Any) -> str:
    """`{{ value }}` with autoescaping, as the template engine prints it
    (`render_value_in_context`: local time, localized, then escaped)."""
    value = localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))


def _text(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: the filter's text, kept safe when the
    value was safe (the filter is `is_safe`), then escaped if it is not."""
    if isinstance(value, tuple):
        value = str(value)
    text = "%s" % value  # noqa: UP031 - the filter's own formatting
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308 - safe only when it was


def select_html(widget: Mapping[str, Any]) -> str:
    """The select of a widget context, as Django's templates write it."""
    out = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in options:
            out.append(
                f'\n  <option value="{_text(option["value"])}"'
                f"{_attrs(option['attrs'])}>{_shown(option['label'])}"
                "</option>\n"
            )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


class SelectFastRenderer(DjangoTemplates):
    """Django's template renderer; selects written by `select_html`."""

    @cached_property
    def _django_selects(self) -> bool:
        # Only while these names are Django's own files (no app overrides them).
        own = Path(forms.__file__).parent / "templates"
        return all(
            Path(self.get_template(name).origin.name) == own / name
            for name in (SELECT_TEMPLATE, OPTION_TEMPLATE)
        )

    def render(self, template_name: str, context: Any, request: Any = None) -> str:
        if template_name == SELECT_TEMPLATE and self._django_selects:
            widget = context["widget"]
            if all(
                option["template_name"] == OPTION_TEMPLATE
                for _name, options, _index in widget["optgroups"]
                for option in options
            ):
                return mark_safe(select_html(widget))  # noqa: S308 - escaped above
        return super().render(template_name, context, request=request)
