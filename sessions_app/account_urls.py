"""The signed-in user's own page (`/account/`): roles and API tokens."""

from django.urls import path

from .views import account

urlpatterns = [
    path("", account.account, name="account"),
    path("tokens/", account.account_token_mint, name="account-token-mint"),
    path(
        "tokens/<str:digest>/revoke/",
        account.account_token_revoke,
        name="account-token-revoke",
    ),
    path(
        "tokens/revoke-all/",
        account.account_tokens_revoke_all,
        name="account-tokens-revoke-all",
    ),
]
