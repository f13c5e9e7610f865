from django.contrib.admin.apps import AdminConfig


class VerityAdminConfig(AdminConfig):
    default_site = "config.admin.VerityAdminSite"
