"""Notifications: `targets` (the `[[notify]]` settings), `kinds` (their words), `notices` (what
one says), `outbox` (written with the job's change), `attention` (jobs stalled or slowed),
`webhook` and `mail` (sending), `delivery` (the outbox drained with retries), `status` (how
delivery goes, for doctor and the Workers screen).
"""
