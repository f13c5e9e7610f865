"""Case work: Verity's own case state per session, decisions that fit their
reasons, and four-eyes approval (docs/case-work.md).

`states` (the transition table), `reasons` (which reason justifies which
decision) and `rules` (when a second reviewer must approve) are data with no
models; `models` holds Approval; `services` every write, `selectors` every
read; `views`, `apis` and `serializers` the interfaces.
"""
