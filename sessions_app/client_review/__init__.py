"""A client's review schedule (issue 18, docs/assurance.md): its risk tier,
the kinds that tier requires, its next review date and its gaps.

`rules` is the policy as plain functions (no database); `refresh` recomputes
the stored summary of many clients set-based (the daily task, and the clients
the sync touched); `services` is a reviewer setting or clearing a tier
(audited). Business logic: interfaces call it, it calls the models.
"""
