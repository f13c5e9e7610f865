"""A reviewer links an identity from the client page in a real browser: the
search lists identities as they type (the page's script over the JSON
endpoint), they pick one, give a reason and link it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions_app.models import AuditEvent, ClientLinkSource, ProviderClient
from tests.browser.desk_pages import signed_in
from tests.factories import ClientFactory, ProviderClientFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_as_you_type_then_link_with_a_reason(live_server, page, screenshot):
    client = ClientFactory(display_name="Ada Lovelace", reference="cust-ada")
    ProviderClientFactory(client=client, name="Ada Lovelace")
    stray = ProviderClientFactory(client=None, name="Ada L. (ICA project)")
    reviewer = UserFactory(username="rita-reviewer", roles=["reviewer"])
    signed_in(page.context, live_server, reviewer)

    page.goto(f"{live_server.url}/clients/{client.pk}/")
    page.get_by_label("Search identities").press_sequentially("Ada L.", delay=30)
    option = page.get_by_label("Ada L. (ICA project)", exact=False)
    expect(option).to_be_visible()
    option.check()
    page.get_by_label("Reason for linking").fill("Same passport number")
    screenshot("client-identity-link")
    # The client's name is masked until a reveal (issue 21): its initials.
    page.get_by_role("button", name="Link to A. L.").click()

    expect(
        page.get_by_text("Linked Ada L. (ICA project) to Ada Lovelace.")
    ).to_be_visible()
    stray.refresh_from_db()
    assert (stray.client_id, stray.link_source) == (client.pk, ClientLinkSource.MANUAL)
    event = AuditEvent.objects.get(action="provider_client.link")
    assert event.after["reason"] == "Same passport number"
    assert ProviderClient.objects.filter(client=client).count() == 2
