"""Provider webhooks under /webhooks/<slug>/ (see sessions_app/webhooks.py)."""

from django.urls import path

from .webhooks import provider_webhook

urlpatterns = [
    path("<slug:slug>/", provider_webhook, name="provider-webhook"),
]
