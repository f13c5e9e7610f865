"""Staff pages. Views parse input, call selectors or one service, and render.

Views never touch the ORM or build keyset cursors: the FilterSets
(`filters.py`) and forms parse the query string, selectors read (they take
typed arguments, never a request), services write. Templates run no queries
(`rendering.render_page`).

One module per page: `queue` (the review queue and its query strings),
`session` (a session, its decisions and assignment), `client`, `overview`,
`sync`, `auth` (sign-in, lockout, health); `audit_history` presents the
history the session and client pages show; `access` and `rendering` are what
every page shares. The URL confs and settings name the views through this
package (`views.session_list`, `sessions_app.views.login_lockout`).
"""

from .auth import LoginView, LogoutView, favicon, health, login_lockout
from .client import client_detail, client_risk_tier
from .client_directory import client_list
from .identities import (
    client_identities_search,
    client_identity_link,
    client_identity_unlink,
)
from .overview import overview
from .queue import session_list
from .rendering import TemplateQueryError
from .reveal import client_reveal, session_reveal
from .session import session_assign, session_decide, session_detail
from .sync import sync_lease_release, sync_now, sync_status

__all__ = [
    "LoginView",
    "LogoutView",
    "TemplateQueryError",
    "client_detail",
    "client_identities_search",
    "client_identity_link",
    "client_identity_unlink",
    "client_list",
    "client_reveal",
    "client_risk_tier",
    "favicon",
    "health",
    "login_lockout",
    "overview",
    "session_assign",
    "session_decide",
    "session_detail",
    "session_list",
    "session_reveal",
    "sync_lease_release",
    "sync_now",
    "sync_status",
]
