"""Credentials inside Illumina ICA payloads: cut before anything is stored.

Paths per payload shape (`sessions_app/payload_paths.py` says how they read).
ICA hands out pre-signed URLs (`InlineView.url`, `Download.url`: whoever has
one reads the data until it expires), temporary storage credentials
(`awsTempCredentials`, `rcloneTempCredentials`: `accessKey`, `secretKey`,
`sessionToken`) and JWTs (`Token.token`). A pre-signed URL is also recognised
by its signature parameter wherever it sits (an `externalData` `url`).
"""

from __future__ import annotations

_CREDENTIALS = (
    "**.token",
    "**.sessionToken",
    "**.secretKey",
    "**.accessKey",
    "**.awsTempCredentials",
    "**.rcloneTempCredentials",
    "**.inlineView.url",
    "**.download.url",
)

SECRET_PATHS: dict[str, tuple[str, ...]] = {
    "session": _CREDENTIALS,  # {"session": <item>, "analyses": [...], "project_id"}
    "check": _CREDENTIALS,  # an analysis
    "client": _CREDENTIALS,  # the project
    "listed": _CREDENTIALS,  # a workflow session as searched
    "webhook": _CREDENTIALS,  # a notification
}
# A string holding one of these is a pre-signed URL (S3 signature version 4
# and 2, Azure SAS): cut wherever it is.
SECRET_VALUE_MARKERS = (
    "X-Amz-Signature=",
    "X-Amz-Credential=",
    "?Signature=",
    "&Signature=",
    "?sig=",
    "&sig=",
)
