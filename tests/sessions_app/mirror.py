"""Compare what Verity mirrored with the simulator's ground truth (`/_sim/state`).

Shared by the simulator end-to-end tests and the Celery end-to-end test.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from sessions_app.models import (
    Check,
    Client,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    Tag,
    WorkflowSession,
)

KINDS = ("onfido", "complycube", "ica")

# The simulator counts ComplyCube `policyAssurance` entries (evaluations); the
# mirror also keeps a row per policy merely enabled (`compliancePolicies`) and
# not evaluated yet (`evaluated=False`), so only evaluations are compared.


def mirror_differences(
    truth: dict[str, Any], *, slugs: dict[str, str] | None = None
) -> list[str]:
    """List every difference between the database and the ground truth ([] = equal).

    `slugs` maps a provider kind to its connection slug (default: slug == kind).
    """
    slugs = slugs or {kind: kind for kind in KINDS}
    differences: list[str] = []

    def expect(what: str, mirrored: object, served: object) -> None:
        if mirrored != served:
            differences.append(
                f"{what}: Verity has {mirrored!r}, the provider serves {served!r}"
            )

    for kind, slug in slugs.items():
        served = truth["providers"][kind]
        counts = served["counts"]
        connection = ProviderConnection.objects.get(slug=slug)
        sessions = WorkflowSession.objects.filter(connection=connection)
        expect(f"{kind} sessions", sessions.count(), counts["sessions"])
        expect(
            f"{kind} statuses",
            dict(sessions.values_list("external_id", "raw_status")),
            {s["id"]: s["status"] for s in served["sessions"]},
        )
        expect(
            f"{kind} checks",
            Check.objects.filter(connection=connection).count(),
            counts["checks"],
        )
        expect(
            f"{kind} clients",
            ProviderClient.objects.filter(connection=connection).count(),
            counts["clients"],
        )
        expect(
            f"{kind} session clients",
            dict(sessions.values_list("external_id", "provider_client__external_id")),
            {s["id"]: s["client_id"] for s in served["sessions"]},
        )
    if "complycube" in slugs:
        evaluated = truth["providers"]["complycube"]["counts"]["policy_assurances"]
        rows = PolicyAssurance.objects.filter(
            session__connection__slug=slugs["complycube"], evaluated=True
        )
        expect("complycube policy assurances", rows.count(), evaluated)
    if set(slugs) == set(KINDS):
        expect("tags", Tag.objects.count(), truth["tags_total"])
        joined = (
            Client.objects.annotate(n=Count("provider_clients"))
            .filter(n__gte=2)
            .values_list("reference", flat=True)
        )
        expect(
            "clients joined across providers",
            sorted(joined),
            sorted(truth["shared_references"]),
        )
    return differences
