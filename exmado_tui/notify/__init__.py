"""Notifications: `targets` (the `[[notify]]` settings and the notices' words), `outbox` (what
one says, written with the job's change), `delivery` (a notice sent to a target, a webhook or a
mail; jobs stalled or slowed looked for, the outbox drained with retries, and how it goes, for
doctor and the Workers screen).
"""
