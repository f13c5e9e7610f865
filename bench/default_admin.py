"""A stock Django admin for WorkflowSession: the baseline the review queue beats.

Everything Django defaults to is kept: the paginator (COUNT of the filtered
rows), `show_full_result_count = True` (a second, unfiltered COUNT), OFFSET
pages, facets off unless asked for. Only what a team would naturally write is
configured: the queue's columns, its filters and a client-name search.
"""

from django.contrib import admin

from sessions_app.models import WorkflowSession

default_site = admin.AdminSite(name="bench_admin")


class DefaultSessionAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "connection",
        "provider_client",
        "workflow_name",
        "status",
        "outcome",
        "assignee",
        "provider_created_at",
        "provider_updated_at",
    )
    list_filter = (
        "status",
        "outcome",
        "connection",
        "assignee",
        "tags",
        "provider_created_at",
    )
    search_fields = ("provider_client__name",)
    ordering = ("-provider_created_at", "-id")


default_site.register(WorkflowSession, DefaultSessionAdmin)
