"""Liveness: who holds a running job, how a holder is known alive, how a dead one's job is taken
over, and every clock that decides it. The job's side of the rule is `hold` (who holds a job,
and its slot); the worker process's side is `presence` (a process known alive, its stop when
its parent dies, and its watchdog over the jobs of the silent); the clocks are here.

Who holds a job
---------------
* **The store says.** `Job.worker` (host:pid) and `Job.heartbeat_at` are the truth. A worker runs
  an active job (VALIDATING, RUNNING) only after `hold.claim` wrote its id there with a
  compare-and-set, and only while its `Hold.beat` (same condition: still its own, still active)
  goes on succeeding; the first beat that fails stops the run at once, whatever it was doing. A
  job is free to claim when no worker is written (handed back, resumed, retried) or its holder's
  heartbeat is older than the takeover age (`hold.unheld`); the WHERE clause carries that, so of
  two workers racing for it exactly one wins.
* **Letting go.** A run that cannot go on for a passing reason, or whose process is stopping,
  hands the job back (`Hold.hand_back`: worker cleared; its message is retried or sent again). A
  move out of the active states (pause, an ending, a terminate) clears `worker` in the same
  UPDATE (`job.transitions.transition`).
* **The Redis lease is the job's slot, not its owner.** `hold.JobSlots` counts
  `max_concurrent_jobs` across hosts: a lease per job being run, owned by the message running
  it, kept in Redis with an expiry. The worker middleware lets a message through only with the
  lease (`hold.gate`) and gives it back after; the run renews it with each heartbeat. The two
  agree thus: a message whose job's lease another message holds is dropped when the store names
  a worker (the job is running; should that worker die, the watchdog sends it again), and waits
  when the store names none (the last run is still ending). A run that finds its lease taken by
  another message stops like one whose heartbeat failed; Redis away for a moment does not stop
  it (the store says the job is its own; the next renewal puts the lease back).

How a holder is known alive
---------------------------
* Its run beats the job's heart (`heartbeat_at`) and renews the lease every `beat_s`.
* Its process says it is alive in Redis (`presence.Registry`: a key with the jobs it runs,
  refreshed every `PRESENCE_EVERY_S`, living `presence_ttl_s`); `exmado workers` and the
  Workers screen read those keys (`services.queue.JobQueue.alive_workers`). A process stopping
  deletes its key (`presence.forget`).
* A worker process whose parent died stops (`presence.watch_parent`): orphaned, nothing would
  stop it, and it would run jobs beside the workers that replaced it.

How a dead holder's job is taken over
-------------------------------------
The watchdog of every worker process (`presence.Watchdog`) hands back an active job whose holder
went silent for the takeover age — unless that holder is alive in the registry and lists the
job among those it runs (a long phase without a beat is slow, not dead) — and one that nobody
holds whose last beat is older than the lost-message age (its message was lost). One
compare-and-set on the same condition, so of several watchdogs exactly one sends the job again;
the next worker continues at its first unfinished row. A Redis wiped or restarted without its
data loses every message: the watchdog that first sees its marker key gone queues every
unfinished job again, but for those in hand.

The clocks (`Clocks`, from `[jobs] heartbeat_s` and `stale_after_s`, and Dramatiq's)
-----------------------------------------------------------------------------------
* `beat_s` = `heartbeat_s`, on the running worker's monotonic clock: how often a run writes
  `heartbeat_at` and renews its lease.
* `takeover_after_s` = `stale_after_s`, on the hosts' wall clocks: `heartbeat_at` is written
  with the holder's `utcnow()` and judged with the claimer's or the watchdog's, so the hosts'
  clocks must agree to well within it (NTP).
* `lease_ttl_s` = `stale_after_s` too, on the Redis server's clock (one clock for every host).
  Equal on purpose — both measure the same silence, so a dead worker's slot comes free when its
  job is taken over (give or take the hosts' skew): a longer lease would keep the job's new
  message waiting for the dead run's slot, a shorter one would free the slot of a silent run
  the store still counts as running (which takes it back, beyond the limit, at its next beat).
  Both are renewed every `beat_s`, hence settings require `stale_after_s` > `heartbeat_s`.
* `lost_message_after_s` = 3 x `stale_after_s` (wall clocks, like the takeover age): a job
  handed back is sent again by its retry or by whoever let it go; one still unheld this long
  lost its message (sending one too many is harmless: the gate drops or holds it).
* `watchdog_every_s` = `heartbeat_s`, within 0.2 s and `stale_after_s` / 2: a silent job is
  seen at most half a takeover age late.
* `again_s` = `heartbeat_s`, within 0.25 s and 5 s: a message held back (no free slot, its
  job's last run still ending, a stopping worker, a store gone) is sent again this much later.
* `PRESENCE_EVERY_S` (1 s): how often a worker process refreshes its registry key and looks
  whether its parent is still there (one period for both; the parent watch once had its own,
  0.5 s, which no guarantee needed).
* `presence_ttl_s`: the registry key's life (Redis clock), `stale_after_s` rounded, within 3
  refreshes and `PRESENCE_TTL_MAX_S` (10 s): a killed worker's jobs are taken over after the
  later of it and the takeover age, and a live one must miss two refreshes or more to look dead.
* Dramatiq's own, set in `services/queue.py`'s `make_broker`: `[broker] heartbeat_timeout_s`
  (a consumer silent that long is dead, and the messages it had fetched but not finished go
  back to the queue — how a PENDING job's message prefetched by a killed worker comes back by
  itself, since the watchdog looks at active jobs only), and `maintenance_chance`, how often a
  command runs that clean-up (a cheap pass every ~20 commands rather than Dramatiq's rare
  default, which can leave them unseen for a quarter of an hour).

Who calls what: `workers/broker.py` plugs this into Dramatiq (`JobSlots` takes and releases
the lease per message through `hold.gate`; `Presence` starts the registry and the watchdog in
every worker process and deletes its key when it stops; `StopWithParent` starts the parent
watch); `workers/pipeline/runner.py` claims the job (`hold.claim`) and keeps its `Hold` (beat,
lease renewal, hand-back); `JobService.requeue_unfinished` (the watchdog after a Redis wipe,
`exmado queue recover`) leaves jobs in hand alone with `hold.unheld`. Nothing else writes
`Job.worker` or `Job.heartbeat_at`, but for the moves out of the active states that clear
`worker`.
"""

from __future__ import annotations

from dataclasses import dataclass

from exmado_tui.config.settings import JobsSettings

#: how many takeover ages a job nobody holds waits before its message is thought lost
LOST_MESSAGE_FACTOR = 3
#: a worker process's registry refresh and parent check, in seconds
PRESENCE_EVERY_S = 1.0
#: the longest a registry key lives: a killed worker must not look alive for long
PRESENCE_TTL_MAX_S = 10


@dataclass(frozen=True)
class Clocks:
    """Every period of the rule, derived from `[jobs] heartbeat_s` and `stale_after_s`."""

    beat_s: float
    takeover_after_s: float

    @classmethod
    def of(cls, jobs: JobsSettings) -> Clocks:
        return cls(beat_s=jobs.heartbeat_s, takeover_after_s=jobs.stale_after_s)

    @property
    def lease_ttl_s(self) -> float:
        return self.takeover_after_s

    @property
    def lost_message_after_s(self) -> float:
        return self.takeover_after_s * LOST_MESSAGE_FACTOR

    @property
    def again_s(self) -> float:
        return max(0.25, min(5.0, self.beat_s))

    @property
    def watchdog_every_s(self) -> float:
        return max(0.2, min(self.beat_s, self.takeover_after_s / 2))

    @property
    def presence_ttl_s(self) -> int:
        # a registry key outliving a short takeover age would only slow takeovers
        least = 3 * int(PRESENCE_EVERY_S)
        return max(least, min(PRESENCE_TTL_MAX_S, round(self.takeover_after_s)))
