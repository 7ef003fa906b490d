"""Notifications: `targets` (the `[[notify]]` settings), `kinds` (their words), `outbox` (what
one says, written with the job's change), `attention` (jobs stalled or slowed), `sending` (a
webhook or a mail), `delivery` (the outbox drained with retries, and how it goes, for doctor
and the Workers screen).
"""
