"""Every audit action the code writes has a label in the audit history.

The actions are read from the source (its syntax tree), not from a list kept
by hand: a new `audit_event_record(action="...")` without a label fails here.
Found are the strings given as an argument named `action` / `*_action`
(keyword, or positionally to a function whose parameter is so named) and the
strings assigned to a name ending in `action` or `actions` (a variable, a
class attribute, a dict of them). An f-string's values come from
`TEMPLATE_VALUES` below; a new f-string template must be added there.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import sessions_app
from sessions_app.models import Decision, ErasureRequestState, SyncRunState
from sessions_app.views.audit_history import _audit_action, audit_action_label

SOURCE = pathlib.Path(sessions_app.__file__).parent

# Each f-string action, with the values its placeholder takes.
TEMPLATE_VALUES: dict[str, list[str]] = {
    "review.{decision}": list(Decision.values),
    "sync.{state}": list(SyncRunState.values),
    "erasure_request.{outcome}": list(ErasureRequestState.values),
    # The exports' kinds (exports/stream.py and exports/clients.py).
    "export.{kind}_csv": ["sessions", "checks", "clients"],
    "export.{kind}_csv.finished": ["sessions", "checks", "clients"],
    # The evidence packs (exports/evidence.py).
    "evidence.{kind}_pdf": ["session", "client"],
}


def _is_action_name(name: str) -> bool:
    return name.lower().endswith(("action", "actions"))


class _Actions:
    def __init__(self) -> None:
        self.strings: dict[str, str] = {}  # action -> module that writes it
        self.templates: dict[str, str] = {}
        self.unresolved: list[str] = []

    def add(self, node: ast.expr, where: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.strings.setdefault(node.value, where)
        elif isinstance(node, ast.IfExp):
            self.add(node.body, where)
            self.add(node.orelse, where)
        elif isinstance(node, ast.Dict):
            for value in node.values:
                self.add(value, where)
        elif isinstance(node, ast.JoinedStr):
            template = "".join(
                part.value
                if isinstance(part, ast.Constant)
                else "{" + ast.unparse(part.value) + "}"
                for part in node.values
            )
            self.templates.setdefault(template, where)


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(SOURCE.parent)): ast.parse(path.read_text())
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.parts
    }


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _action_parameters(modules: dict[str, ast.Module]) -> dict[str, int]:
    """Functions with a positional parameter named like an action: its index
    (self and cls not counted)."""
    found: dict[str, int] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = [arg.arg for arg in (*node.args.posonlyargs, *node.args.args)]
            if names[:1] in (["self"], ["cls"]):
                names = names[1:]
            for index, name in enumerate(names):
                if _is_action_name(name):
                    found[node.name] = index
    return found


def _written_actions() -> _Actions:
    modules = _modules()
    parameters = _action_parameters(modules)
    actions = _Actions()
    for where, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                if name == "add_argument":  # argparse's action="store_true"
                    continue
                for keyword in node.keywords:
                    if keyword.arg and _is_action_name(keyword.arg):
                        actions.add(keyword.value, where)
                index = parameters.get(name)
                if index is not None and len(node.args) > index:
                    actions.add(node.args[index], where)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                for target in targets:
                    name = getattr(target, "id", getattr(target, "attr", ""))
                    if _is_action_name(name) and node.value is not None:
                        actions.add(node.value, where)
            if isinstance(node, ast.Call) and _call_name(node) in (
                "audit_event_record",
                "AuditEvent",
            ):
                _check_traceable(node, where, actions)
    return actions


def _check_traceable(call: ast.Call, where: str, actions: _Actions) -> None:
    """An audit write's action must be a string here or come through a name
    the scan follows (one ending in `action`); otherwise this test cannot
    see it."""
    for keyword in call.keywords:
        if keyword.arg != "action":
            continue
        value = keyword.value
        if isinstance(value, ast.Subscript):
            value = value.value
        if isinstance(value, ast.Name | ast.Attribute):
            name = getattr(value, "id", getattr(value, "attr", ""))
            if not _is_action_name(name):
                actions.unresolved.append(f"{where}: action={ast.unparse(value)}")


WRITTEN = _written_actions()


def _expanded() -> dict[str, str]:
    actions = dict(WRITTEN.strings)
    for template, where in WRITTEN.templates.items():
        placeholder = template[template.index("{") : template.index("}") + 1]
        for value in TEMPLATE_VALUES.get(template, []):
            actions.setdefault(template.replace(placeholder, value), where)
    return actions


def test_the_scan_finds_the_actions_it_should():
    # A guard on the scan itself: actions written in each of the ways above.
    assert {
        "note.add",  # a keyword
        "sessions.bulk",
        "admin.add",  # positionally, to a function's `action` parameter
        "admin.roles",  # a class attribute
        "client.risk_tier_set",  # a variable
        "sso.roles",  # a module constant
        "approval.send_back",  # a dict of actions
        "case.reopen",  # a keyword named `audit_action`
        "client.legal_hold_lift",  # a conditional
        "audit_chain.verify",  # an AuditEvent built directly
    } <= set(WRITTEN.strings)
    assert "store_true" not in WRITTEN.strings
    assert not WRITTEN.unresolved, (
        "Name these so the scan follows them (…action):",
        WRITTEN.unresolved,
    )


def test_every_f_string_action_has_its_values_here():
    unknown = set(WRITTEN.templates) - set(TEMPLATE_VALUES)
    assert not unknown, f"Add their values to TEMPLATE_VALUES: {sorted(unknown)}"


@pytest.mark.parametrize(("action", "where"), sorted(_expanded().items()))
def test_every_action_written_has_a_label(action, where):
    assert audit_action_label(action), f"{action!r} ({where}) has no label"


def test_labels_read_as_words():
    assert _audit_action("note.add") == "Note added"
    assert _audit_action("sessions.bulk") == "Bulk work on several sessions"
    assert _audit_action("review.reject") == "Decision: Reject"
    assert _audit_action("sync.succeeded") == "Sync succeeded"
    assert audit_action_label("review.unheard_of") is None
    # An unlabelled action still reads as words, never as its code.
    assert _audit_action("something.new_here") == "Something new here"
