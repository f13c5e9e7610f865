"""Check breakdowns as a tree of sub-results with outcome badges, and reasons
as labels with the provider's word beside them."""

from __future__ import annotations

from types import SimpleNamespace

from sessions_app.templatetags import breakdown as tags
from sessions_app.templatetags.breakdown import breakdown_tree_html, humanise_key


def test_onfido_nested_breakdown_is_a_tree_with_badges():
    html = breakdown_tree_html(
        {
            "visual_authenticity": {
                "result": "consider",
                "breakdown": {
                    "fonts": {"result": "clear", "properties": {"secret": "x"}},
                    "security_features": {"result": "consider"},
                },
            },
            "data_validation": {"result": None, "breakdown": {}},
        },
        "onfido",
    )
    assert html.count('<ul class="breakdown-tree">') == 2
    assert "Visual authenticity" in html
    assert "Security features" in html
    assert '<span class="badge badge-attention">Attention</span>' in html
    assert '<span class="raw">consider</span>' in html
    assert '<span class="badge badge-clear">Clear</span>' in html
    assert "secret" not in html  # properties stay in the raw JSON


def test_complycube_summary_groups_are_a_tree():
    html = breakdown_tree_html(
        {
            "summary": {
                "pep": {"level1": "attention", "level2": "clear"},
                "adverseMedia": {"regulatory": "clear"},
            },
            "documentAuthenticity": {"outcome": "rejected"},
            "extractedData": {"documentDetails": {"documentType": "passport"}},
        },
        "complycube",
    )
    assert "Adverse media" in html
    assert "Level1" in html
    assert '<span class="badge badge-rejected">Rejected</span>' in html
    assert '<span class="breakdown-value">passport</span>' in html


def test_values_are_escaped_and_the_tree_is_bounded(monkeypatch):
    html = breakdown_tree_html({"<b>": {"result": "<script>"}}, "onfido")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    node["y"] = "clear"
    assert "More in the raw JSON" in breakdown_tree_html(deep, "onfido")
    monkeypatch.setattr(tags, "BREAKDOWN_MAX_NODES", 3)
    wide = {f"k{i}": "clear" for i in range(10)}
    html = breakdown_tree_html(wide, "onfido")
    assert html.count("<li>") == 3
    assert "More in the raw JSON" in html


def test_nothing_to_show_is_empty():
    assert breakdown_tree_html({}, "onfido") == ""
    assert breakdown_tree_html(["x"], "onfido") == ""


def test_keys_in_words():
    assert humanise_key("sanctionsLists") == "Sanctions lists"
    assert humanise_key("visual_authenticity") == "Visual authenticity"
    assert humanise_key("") == "(unnamed)"


def test_reason_badges_show_the_label_and_the_raw_word():
    reason = SimpleNamespace(
        get_code_display=lambda: "Document rejected", raw="document_<rejected>"
    )
    html = tags.reason_badges([reason])
    assert '<span class="reason-label">Document rejected</span>' in html
    assert "document_&lt;rejected&gt;" in html
    assert "—" in tags.reason_badges([])
