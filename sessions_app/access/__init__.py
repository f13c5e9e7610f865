"""Who gets in: single sign-on (OpenID Connect) and multi-factor for local accounts.

sso.py           the group claim -> roles mapping, and the sign-in service
sso_backend.py   mozilla-django-oidc's backend, matching users by (issuer, subject)
sso_views.py     the start and callback views (the callback shows a refusal page)
identities.py    ExternalIdentity: which SSO subject is which Verity user
mfa.py           enrolment, verification, recovery codes, reset (django-otp)
mfa_middleware.py  the gate: a user who needs MFA reaches nothing until verified
mfa_views.py     the enrolment and verification pages
"""
