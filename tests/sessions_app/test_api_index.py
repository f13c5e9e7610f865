"""/api/v1/: the API's root lists its resources, the schema and the docs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_root_links_every_resource_list_the_schema_and_the_docs(
    viewer_client,
):
    response = viewer_client.get("/api/v1/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    links = response.json()
    assert links == {
        "sessions": "http://testserver/api/v1/sessions/",
        "checks": "http://testserver/api/v1/checks/",
        "clients": "http://testserver/api/v1/clients/",
        "sync_runs": "http://testserver/api/v1/sync-runs/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
    }
    for key in ("sessions", "checks", "clients", "sync_runs"):  # each answers
        assert viewer_client.get(links[key]).status_code == 200


def test_the_api_root_asks_for_credentials_in_json(client):
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")

    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_the_api_docs_page_leads_back_to_the_desk(viewer_client):
    page = viewer_client.get("/api/docs/").content.decode()

    assert '<a href="/">Back to the Verity desk</a>' in page
    assert '<a href="/api/v1/">/api/v1/</a>' in page
