"""The shared DocuWare request budget in Redis: its Lua scripts, a read-only status, the
per-minute limits on sign-ins and cabinet lists, and the lookups the workers share.

One budget per DocuWare server and account (`account_key`), shared by every worker process on
every host. It is a schedule, not a counter: `TAKE` reserves the next `n` send times at the
current rate (GCRA's "theoretical arrival time", in Redis time), so a worker killed while
holding some only wastes the moments it had reserved, at most `max_ahead_ms` ahead.

The rate is learned from the server, not from a setting, atomically with the reservation (why
not a library: `limits` and `pyrate-limiter` take the rate from the caller or fix it when the
bucket is built, so a worker could reserve at the old rate after another's cut). Of the known
designs it takes:

* TCP slow start: an account never throttled starts at `START` requests/s and doubles every
  `DOUBLING_S` while its requests succeed, every `FAST_DOUBLING_S` once its answers pass
  `FAST_FROM`: throttled accounts (5-20 requests/s) are met carefully, a fast server is at 300
  requests/s within about 3 s (measured: doubling every 0.4 s throughout cost 10 % 429s at
  20/s with four processes, before the slow start's room below; 0.75 s, 2 %. With the room,
  0.6 s and 0.25 s past `FAST_FROM` against 0.75 s and 0.3 s, one run each: 20/s the same 1.0 %
  and 1.4 % 429s with one and four processes, 5/s 1.9 % and 2.7 % against 1.6 % and 2.5 %; a
  cold start to 90 % of a free server's speed 3.5 s and 5.0 s against 4.5 s and 6.1 s, 100/s
  1.16x and 1.19x the ideal time against 1.20x). The answers, not the rate: a 20/s server's
  rate passed `FAST_FROM` as its window filled, and doubled fast while its held requests were
  found (measured, 100 ms latency, four processes, cold first jobs of 100 rows, in turns: 429s
  9.6 a job on average read from the rate, 12 jobs, 9.0 from the answers, 24 jobs; a cold start
  to 90 % of a free server's speed 3.8-4.8 s from the answers, 3.5-6.1 s or, two runs in six,
  never from the rate). Not the AWS SDKs' "no limit until the first throttle": DocuWare
  holds a throttled request ~10 s before its 429, so a first burst at full concurrency against
  a 5 requests/s account would hold dozens of rows before the first signal came back. As TCP
  is clocked by its ACKs, a process in the slow start sends nothing while it has more requests
  out than its rate of answers and answer time hold (`budget.IN_FLIGHT_FACTOR` times over):
  the requests DocuWare holds fill that room within about one answer time, and stop the
  answers that keep it open, where finding one stalled takes three (measured, 20/s, four
  processes, 100 ms latency: the slow start's 429s 17.7 a run before, 11.2 after, six runs
  each; with the room read from the sends, not the answers). Its end, the first cut, is TCP's
  slow start overshooting: the doubling filled the server's window past the limit (at 20/s,
  24 requests in its last second, 15 of them in the last half) and `sent` reads high, so the
  peak is at most `EXIT_PLATEAU`, not `PLATEAU`, of it (less if less got through: below); and
  nothing is granted while the overshoot drains, for `EXIT_HOLD_MS` or `EXIT_HOLD_REQUESTS`
  requests' time at the cut rate, whichever is shorter: sent at once, even at the cut rate,
  requests met the full window and were refused for half a second; but at 100/s, with a
  half-second hold, a first job took 1.21x of the ideal time (1.17x before) and sent no fewer
  429s. A room of one request
  (`budget.IN_FLIGHT_MIN`) keeps each process from sending more than one into that window
  before the cut (measured, 20/s, four processes, a 200-row job: 8-15 429s with none of the
  three, eight runs; 6-8 with any two; 4-5 with all, six runs; 5/s, one process, 100 rows: 7
  before, 3 after). Not lower than `EXIT_PLATEAU`: at 0.9 the peak fell below the limit, so
  the first probe crossed it only where the curve turns steep (at 100 ms latency, 20/s, one
  process: 10-11 429s in 300 rows, against 7 at 0.93 and at 0.97; 20 ms, four processes, 200
  rows: 4-5 at 0.9, 4-6 at 0.93, 7-9 at 0.97).
* The AWS SDKs' adaptive mode (botocore retries/adaptive.py): a cut starts from the measured
  sending rate, not the rate allowed. Each grant says how many send times were granted in the
  second before it (`sent`, from every process), and a throttled request reports its grant's
  figure: what the server's one-second window held when it refused, not the slow start's
  overshoot. After a Retry-After pause `sent` counts from the pause (the rate granted, until
  `SENT_MIN_SPAN_MS`), or a stray 429 after it would read as a limit of 1-2 requests/s. As in
  AWS, growth stops at `AHEAD` times the rate of answers (successes every process reports as
  they come, `ANSWERED`, over the last `ANSWERS_MS`): a pipeline that cannot load the server
  does not grow the rate without bound, and once the server holds what it cannot take the rate
  stops with its answers (measured, 20/s, four processes: without it the slow start overshot
  to 70/s, 34 rows held).
  Unlike AWS nothing decays over a pause: the next job starts at the rate learned (measured
  with a decay: the second of two 2,000-row jobs took 27 s, the first 11).
* BBR's delivery rate (Google's TCP BBR estimates a path's bandwidth from what is delivered,
  not from what is sent), as a trigger: when a request is held now (not a 429, ten seconds
  late) and less than `FELL` of the window got through in the last second (the successes
  with credentials every process reports, over `THROUGH_MS`), the limit fell, and the cut
  reads `FELL` of the window. The window counts what was sent, refused or not: a limit that
  fell from 40 to 10/s was followed in cuts of 15 %, six of them, 8-13 s; now in two, 2-5 s.
  The window counts
  only what reached the server against the account: a send time used by a request without
  credentials (discovery, the sign-in itself, which DocuWare counts against no account) or
  dropped unsent (a slow start's batch waiting for room) leaves it with the process's next
  reservation (`unsent`). Counted, they made a 5/s account's window read 7-9.3/s at the slow
  start's end where 5 got through, and the descent from there cost 429s (four processes,
  a first job of 400 rows, one run each: 3.2-3.6 % 429s; the sign-ins left out, 2.5-2.7 %;
  with the dropped times and `wait_uncounted` too, 2.1 %; eight first jobs of 100 rows:
  median 5.5, 6.5, 5). Their answers still count among the answers the growth reads: left
  out there too, the slow start, bounded by them, was 0.35 s slower to 20/s; but not among
  what got through (`through`, the successes sent with the account's credentials). Even so
  the window still read 7/s at the slow start's end where the server had let 4-5 through (a
  refused request in it, a batch's later times counted at its first), and the descent from
  a peak of 6.5/s cost two to four 429s. So the slow start's end takes as the peak the lower
  of `EXIT_PLATEAU` of the window and what got through, not scaled: all it lets through is
  the limit, or a few percent under it, so a peak from it lies at or below the limit
  (measured, four processes, a 5/s first job of 400 rows, three runs each: 429s 9, 13 and
  11 before, 8, 8 and 10 after; 20/s and 100/s as before). Not what got through alone
  everywhere: before the workers' sign-ins were left out of it, it read a few percent low at
  20/s (a window not full for the whole second, the successes not yet reported), and a peak
  below the limit put the first probe past it where the curve is steep (2.9 % 429s at 20/s
  in two runs, against 1.4-1.6 %); the lower of the two is that only where the window reads
  higher still.
* CUBIC (as AWS uses it, in relative terms): after a cut to `BETA` x `peak` (`PLATEAU` x what
  the server's window held), the rate climbs back concavely, dwells near `peak` around `K`
  seconds, then probes past it, convexly to `(2 - BETA)` x `peak` at `2K`, then doubling every
  `PROBE_DOUBLING_S` as far as its answers allow (`PROBE_AHEAD`, below), so a server that
  allows more again (10 to 40 requests/s) is followed within `2K` + 1.5 s however soon after a
  cut it rose: 9.3 s at 10/s at worst, the peak after the slow start's end 9.3/s (11.5 s with
  `K` of 50 requests' time and at least 5 s, whose fewer probes cost the 5/s next job 1.2 %
  429s, against 1.4-1.7 %). `K` is `PROBE_REQUESTS` requests' time at `peak` (within
  `K_MIN_S`-`K_MAX_S`): every probe past the limit costs about one 429, so a slow account
  probes seldom; below `SLOW_FROM` requests/s, as many times more seldom again as the peak is
  below it. One probe every 1.6 `K` (where the curve crosses a limit 3 % above the peak) is
  1.5 % of the requests at 40 requests' time, and following a rise within 10 s needs `K` under
  4.25 s (36 requests' time, not 40: at 40 a 10/s account's worst case was 10.3 s once the
  probe went only as far as its answers allow): at 10/s both hold only at about that share,
  and at 5/s the probes alone were 1.4 % of a first job that the slow start's end cost 1-2
  429s more (1.6-2.1 % in four runs). A 5/s account probes every 21 s (`K` 13 s; a rise
  followed within about 28 s at worst).
  The probe's clock (`epoch`) stops while
  nothing is sent, as Linux's CUBIC restarts its epoch after an idle spell: counted, the pause
  between two jobs put the next one far out on the curve, where only the rate of answers
  bounds it (measured, 20/s, four processes: the next job 8-9 % 429s where the first had
  3-4 %; with the clock stopped, 0.6-0.8 %). Past the peak that bound is `PROBE_AHEAD`, not
  `AHEAD`, times the rate of answers: a probe that crossed the limit is found only once a
  refused request is held three answer times, and meanwhile the server lets no more through,
  so the rate stops a quarter above it, not at twice and more (measured, 20/s, 100 ms latency:
  a probe past `2K` went from 20 to 35/s before its cut, 5-6 429s, and a next job of four
  processes resuming there to 60/s, 17-20 429s; bounded, 1-3 a probe). Or `PROBE_SLACK`
  requests/s above it, if more: at a few requests/s the half second's answers are a count of
  three or four, and the rate, bound to 1.25 times three, never grew (a job at 7.5/s after the
  server stopped throttling at 8, for 50 s).
* Netflix's concurrency-limits (a slow answer counts as a drop): `CUT` is called for a 429,
  for a request held well past the usual answer time (`budget.held_after`), and for one merely
  slow (`budget.stalled_after`). During the slow start a slow answer cuts (the server's window
  fills only well past its limit, and every moment of doubling after that holds rows), in its
  first second too, however few the window held: counted from send times reserved it may read
  `START` or less where the server's, of arrivals, held five (measured, four processes at 5/s:
  a request refused at 0.96 s was let be, the slow start went on to 29/s and three more were
  refused; judged, 7, 8 and 8 429s in three runs where 8, 8 and 10); and so
  it does past the peak, sent into a window fuller than the peak held: the probe doubles every
  `PROBE_DOUBLING_S`, and found only once held it had doubled meanwhile (measured, 100/s, four
  processes: 23-62 429s a probe past `2K`, 1-2 since). Otherwise it only stops growth for
  `FREEZE_MS` (as TCP Vegas does when delay builds up), and a held request cuts, but not below
  `START`: only the server's own 429 says its limit is that low. The slow start ended by a
  slow or held request that DocuWare answers after all goes on (`UNDO`), as TCP undoes a cut
  for a timeout the ACK of the first send shows spurious (Eifel, RFC 4015): DocuWare answers a
  throttled request only with a 429, so one answered was slow, not throttled (measured, four
  processes at 100/s: one slow answer ended a first job's slow start at 24/s, a peak of 12/s
  where the limit was 100, and the job took 1.61x the ideal time). A server whose answers vary
  is found slow again at once, and every cut, though undone, drops what was reserved: for a
  second after one is undone a slow answer cuts nothing (429s and held requests still do;
  measured, 100 ms latency, one answer in ten 250 ms later, four processes, two runs each: the
  next jobs at 68-76 % of budget off's speed, 89-91 % after; in one run 140 cuts made and
  undone, 26 after). Later cuts stand: answers that grow slow are the server's load showing,
  which the budget then eases.

`CUT` multiplies for everyone at once, restarts the schedule at the cut (every process drops the
times it reserved before, at the old rate: waited for, they left a gap of up to `max_ahead_ms`;
measured at 100/s with four processes, arrivals fell to 40/s for half a second after each cut)
and holds new reservations for Retry-After. A throttled request reserved before the last cut,
or within `DRAIN_MS` after it (the server's window still held what came before), reports a rate
already left and cuts nothing. `max_requests_per_s`, when an administrator sets it, caps the
rate (0: no cap).

`WITHIN` is a sliding log for Cloud's per-minute limits on sign-ins and cabinet lists
(`kind_of` reads which from a request's path; `PerMinute.wait` waits its turn, or goes on when
Redis is away: the server's 429 remains), and for requests without credentials: not counted
against the account, a server may count them against the address, as the sandbox does at the
account's rate, and four processes signing in at once sent twelve in 1.75 s, two of them
refused at 5/s; they go at most at the budget's rate (`PerMinute.wait_uncounted`; at `START`
the next job's four processes signed in over 3 s, and it ran at 79 % of budget off's speed);
`SIGNED_IN` an hour's log of the workers' sign-ins (each may take a licence seat), which
`exmado docuware check` counts. The lookups every job
needs (the organization, cabinets, dialogs and their fields) are kept per account too
(`SharedLookups`): they change rarely and cabinet lists are limited a minute on Cloud, so a body
one worker read serves all for `LOOKUP_TTL_S`; `exmado docuware forget` drops them (`forget`);
with Redis away they go to DocuWare. An unused budget is forgotten after `KEEP_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis.exceptions import RedisError

from exmado_tui.config.settings import DocuWareSettings
from exmado_tui.services.queue import NAMESPACE

PREFIX = f"{NAMESPACE}:budget:"
START = 4.0  # requests/s of an account never seen: below what any Cloud organization gets
DOUBLING_S = 0.6  # slow start: the rate doubles this often while requests succeed ...
FAST_FROM = 32.0  # ... and, once its answers pass this many a second, ...
FAST_DOUBLING_S = 0.25  # ... this often
BETA = 0.85  # a cut keeps this share of what the server let through
PLATEAU = 0.97  # the peak: this share of what the server's window held when it refused ...
EXIT_PLATEAU = 0.93  # ... or this, when it ends the slow start, ...
EXIT_HOLD_MS = 500  # ... and then nothing goes this long, ...
EXIT_HOLD_REQUESTS = 8  # ... or as long as this many requests take at the cut rate, if less
PROBE_REQUESTS = 36.0  # after a cut, back at the peak after this many requests' time ...
SLOW_FROM = 8.0  # ... and below this many requests/s, as many times longer as it is below ...
K_MIN_S = 4.0  # ... but no sooner (3 s: at 20/s a probe, about one 429, every ~6 s) ...
K_MAX_S = 20.0  # ... nor later than this
PROBE_DOUBLING_S = 0.5  # past the peak by 1 - BETA, the rate doubles this often
AHEAD = 2.5  # the rate grows to at most this many times the rate of answers ...
PROBE_AHEAD = 1.25  # ... past the peak, this many (or this many requests/s more: a few
PROBE_SLACK = 4.0  # answers of `ANSWERS_MS` are a coarse count, which the bound must not trap)
ANSWERS_MS = 500  # ... in this last while
THROUGH_MS = 1000  # a request held now, and less got through in this last while ...
FELL = 0.7  # ... than this share of what the window held: the limit fell, the cut reads that
DRAIN_MS = 1000  # a request reserved this soon after a cut met the window the cut drains
FREEZE_MS = 500  # no growth this long after a process saw a request slow to be answered
SENT_MIN_SPAN_MS = 250  # after a Retry-After pause, `sent` is a rate once this much was sent
BATCH_S = 0.1  # one reservation holds at most this much of the rate it is granted at
SENDS = ":sends"  # suffix of the account's log of send times granted (the last 2 s)
ANSWERS = ":answers"  # suffix of its log of successes reported (the last `THROUGH_MS`)
CUTS = ":cuts"  # suffix of the channel its cuts are published on
KEEP_S = 7 * 24 * 3600
WINDOW_429_MS = 300_000
LOOKUP_TTL_S = 3600  # a shared lookup is kept this long

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""


def _now_or(argv: int) -> str:
    """Redis's clock, or ARGV[argv] when given (ms: the tests' fake clock)."""
    return _NOW.replace("local now =", f"local now = tonumber(ARGV[{argv}]) or")


# `ok` successes into the answer log (KEYS[1]: the state, ANSWERS_KEY: the log), and when;
# `through` of them counted against the account (sent with its credentials): "seq:through:ok".
_RECORD_ANSWERS = """
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', ANSWERS_KEY, now, seq .. ':' .. tostring(through) .. ':' .. tostring(ok))
  redis.call('HSET', KEYS[1], 'answered_at', tostring(now))"""

# KEYS: state, send log, answer log.
# ARGV: n, cap (0: none), successes, max_ahead_ms, label, keep_s, unsent, successes counted
# against the account[, now_ms].
# Returns {granted, wait_ms, rate, start_ms, now_ms, sent, peak} (strings: Lua would truncate
# numbers); `sent`: send times in the second before the first one granted (per second of it
# since a Retry-After pause), less the `unsent` ones (a process's since its last reservation:
# used by a request without credentials, which DocuWare counts against no account, or dropped
# unsent); `peak`: 0 while the slow start lasts (no cut yet).
TAKE = (
    _now_or(9)
    + """
local s = redis.call('HMGET', KEYS[1], 'rate', 'tat', 'hold', 'cut_at', 'peak', 'grow_at',
  'frozen_until', 'epoch')
local cap, ok = tonumber(ARGV[2]), tonumber(ARGV[3])
local through = tonumber(ARGV[8]) or ok
local rate = tonumber(s[1]) or START
local used = tonumber(s[2]) or 0
local tat = math.max(used, now, tonumber(s[3]) or 0)
local peak = tonumber(s[5])
local frozen_until = tonumber(s[7]) or 0
-- The probe's clock (`epoch`: the last cut, at first) stops while nothing is sent, as CUBIC's
-- does after an idle spell: else the next job starts far out on the probe's curve. (Asked
-- again while held after a cut, which set `tat` and `epoch` alike, it stays at now.)
local epoch = tonumber(s[8]) or tonumber(s[4])
if epoch and used < now - 1000 then
  epoch = epoch + now - math.max(used, epoch)
  redis.call('HSET', KEYS[1], 'epoch', tostring(epoch))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 2000)
local unsent = tonumber(ARGV[7]) or 0
if unsent > 0 then
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  -- dated a moment before now: the window below ends before `tat`, which may be now
  redis.call('ZADD', KEYS[2], now - 1, 'u' .. tostring(seq) .. ':-' .. tostring(unsent))
end
local paused_until = tonumber(s[3]) or 0
if paused_until <= (tonumber(s[4]) or 0) then paused_until = 0 end
local from = math.max(tat - 1000, paused_until)
local sent = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], from, '(' .. tat)) do
  sent = sent + tonumber(string.match(member, ':(-?%d+)$'))
end
sent = math.max(sent, 0)
if tat - from < 1000 then
  if tat - from < SENT_MIN_SPAN_MS then sent = rate else sent = sent * 1000 / (tat - from) end
end
-- The rate of answers (successes) the processes reported lately (`ANSWERED`, or here).
if ok > 0 then
RECORD_ANSWERS
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - THROUGH_MS)
redis.call('PEXPIRE', KEYS[3], 2000)
local answered = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], now - ANSWERS_MS, '+inf')) do
  answered = answered + tonumber(string.match(member, ':([%d.e+-]+)$'))
end
answered = answered * 1000 / ANSWERS_MS
-- Growth counts from `grow_at`, once answers came after it; a turn with none yet (every
-- request still out) leaves it, or with several processes most of the time would be lost.
local growing = used >= now - 1000 and now >= frozen_until
local grow_at = tonumber(s[6]) or now
local fresh = tonumber(redis.call('HGET', KEYS[1], 'answered_at') or -1) > grow_at
if not growing or fresh then grow_at = now end
if fresh and growing then
  local grown
  if peak then
    local since = (now - epoch) / 1000
    local k = PROBE_REQUESTS / peak * math.max(1, SLOW_FROM / peak)
    k = math.min(math.max(k, K_MIN_S), K_MAX_S)
    local x = (since - k) / k
    if x <= 1 then
      grown = peak * (1 + (1 - BETA) * x ^ 3)
    else
      grown = peak * (2 - BETA) * 2 ^ math.min((since - 2 * k) / PROBE_DOUBLING_S, 30)
    end
  else
    local doubling = DOUBLING_S
    if answered >= FAST_FROM then doubling = FAST_DOUBLING_S end
    local since = math.min(math.max(now - (tonumber(s[6]) or now), 0), 1000)
    grown = rate * 2 ^ (since / 1000 / doubling)
  end
  local bound = math.max(AHEAD * answered, START, BETA * (peak or 0))
  if peak then
    bound = math.min(bound, math.max(PROBE_AHEAD * answered, answered + PROBE_SLACK, peak))
  end
  rate = math.max(rate, math.min(grown, bound))
end
if cap > 0 then rate = math.min(rate, cap) end
local wait = tat - now
local granted = 0
if wait <= tonumber(ARGV[4]) then
  granted = math.min(tonumber(ARGV[1]), math.max(1, math.ceil(rate * BATCH_S)))
  redis.call('HSET', KEYS[1], 'tat', tostring(tat + granted * 1000 / rate))
  redis.call('ZADD', KEYS[2], tat, tostring(tat) .. ':' .. granted)
  redis.call('PEXPIRE', KEYS[2], 2000)
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'grow_at', tostring(grow_at), 'cap', ARGV[2],
  'label', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {granted, tostring(wait), tostring(rate), tostring(tat), tostring(now), tostring(sent),
  tostring(peak or 0)}
"""
)
# Each constant's name in the script becomes its value; longer names first (DOUBLING_S is in two).
_GROWTH = "PROBE_REQUESTS PROBE_DOUBLING_S FAST_DOUBLING_S DOUBLING_S FAST_FROM K_MIN_S K_MAX_S"
_GROWTH += " SLOW_FROM"
_RATES = " PROBE_AHEAD PROBE_SLACK START AHEAD BETA SENT_MIN_SPAN_MS BATCH_S ANSWERS_MS THROUGH_MS"
for _name in (_GROWTH + _RATES).split():
    TAKE = TAKE.replace(_name, repr(globals()[_name]))
TAKE = TAKE.replace("RECORD_ANSWERS", _RECORD_ANSWERS.replace("ANSWERS_KEY", "KEYS[3]"))

# KEYS: state, answer log. ARGV: successes, of them counted against the account[, now_ms].
# Successes reported as they come, not only with a process's next reservation (with four
# processes that is up to 0.4 s later).
ANSWERED = (
    _now_or(3)
    + "local ok = tonumber(ARGV[1])\nlocal through = tonumber(ARGV[2]) or ok"
    + _RECORD_ANSWERS.replace("ANSWERS_KEY", "KEYS[2]")
    + "\nredis.call('PEXPIRE', KEYS[2], 2000)\n"
)

# KEYS: state, 429 log, send log, answer log. ARGV: reserved_ms, sent (the grant's),
# retry_after_ms, signal (429, held or stalled), floor (no cut below it, unless the rate
# already is), member[, now_ms]. Returns {cut (1/0), rate, now_ms}; a cut is published on the
# state's key + `CUTS` as "now_ms rate", so every process drops the send times it reserved
# before. The slow start's end for a slow or held request also returns what `UNDO` takes ('':
# none).
CUT = (
    _now_or(7)
    + """
if ARGV[4] == '429' then
  redis.call('ZADD', KEYS[2], now, ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - WINDOW)
  redis.call('PEXPIRE', KEYS[2], WINDOW)
end
local s = redis.call('HMGET', KEYS[1], 'rate', 'cut_at', 'hold', 'peak', 'undone_at')
local rate = tonumber(s[1])
local drained_from = tonumber(s[2]) or -DRAIN_MS
-- Slow, and sent within a second of a cut undone (`UNDO`): the server's answers vary, and it
-- was as slow then. A 429 or a held request still cuts.
if ARGV[4] == 'stalled' then drained_from = math.max(drained_from, tonumber(s[5]) or -DRAIN_MS) end
if not rate or tonumber(ARGV[1]) < drained_from + DRAIN_MS then
  return {0, tostring(rate or 0), tostring(now), ''}
end
-- Slow, and sent into no more than the peak held: the limit is above it, the answer only slow.
-- Sent into more (probing past the peak), it ends the probe as a slow start's end: found held
-- only later, the probe doubled again meanwhile.
if ARGV[4] == 'stalled' and s[4] and tonumber(ARGV[2]) <= tonumber(s[4]) then
  redis.call('HSET', KEYS[1], 'frozen_until', tostring(now + FREEZE_MS))
  return {0, tostring(rate), tostring(now), ''}
end
local exit = not s[4]
local seen = rate
if tonumber(ARGV[2]) > 0 then seen = math.min(rate, tonumber(ARGV[2])) end
local through = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], now - THROUGH_MS, '+inf')) do
  -- a member without `through` (a worker of the version before, mid-upgrade): none
  through = through + (tonumber(string.match(member, ':([%d.e+-]+):')) or 0)
end
through = through * 1000 / THROUGH_MS
local peak = PLATEAU * seen
if exit then
  -- The slow start's end (no peak yet) overshot: its window held more than the limit and
  -- is full of it, and reads higher than what got through: the peak is the lower of a
  -- share of it and what got through, and nothing goes while the overshoot drains.
  peak = EXIT_PLATEAU * seen
  if through > 0 then peak = math.min(peak, through) end
elseif ARGV[4] ~= '429' and through < FELL * seen then
  -- Held now (not a 429, ten seconds late) and far less got through the last second than the
  -- window held: the limit fell, and one cut of 15 % would not follow it.
  peak = PLATEAU * FELL * seen
end
peak = math.max(peak, math.min(tonumber(ARGV[5]), rate) / BETA)
rate = peak * BETA
local drain = exit and math.min(EXIT_HOLD_MS, EXIT_HOLD_REQUESTS * 1000 / rate) or 0
local hold = math.max(tonumber(s[3]) or 0, now + math.max(tonumber(ARGV[3]), drain))
-- The times reserved before the cut are dropped by every process (they are at the old
-- rate): the schedule starts again now, at the new rate, and they leave no gap and no trace.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '(' .. tostring(now), '+inf')
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'cut_at', tostring(now),
  'epoch', tostring(now), 'peak', tostring(peak), 'grow_at', tostring(now), 'hold', tostring(hold),
  'tat', tostring(now))
redis.call('HINCRBY', KEYS[1], 'cuts', 1)
redis.call('PUBLISH', KEYS[1] .. 'CUTS', tostring(now) .. ' ' .. tostring(rate))
local undo = ''
if ARGV[4] ~= '429' and exit then  -- the rate `UNDO` puts back, should DocuWare answer it
  undo = tostring(now)
  redis.call('HSET', KEYS[1], 'undo_rate', s[1])
end
return {1, tostring(rate), tostring(now), undo}
""".replace("BETA", repr(BETA))
    .replace("THROUGH_MS", str(THROUGH_MS))
    .replace("FELL", repr(FELL))
    .replace("EXIT_PLATEAU", repr(EXIT_PLATEAU))
    .replace("EXIT_HOLD_MS", str(EXIT_HOLD_MS))
    .replace("EXIT_HOLD_REQUESTS", str(EXIT_HOLD_REQUESTS))
    .replace("PLATEAU", repr(PLATEAU))
    .replace("WINDOW", str(WINDOW_429_MS))
    .replace("FREEZE_MS", str(FREEZE_MS))
    .replace("DRAIN_MS", str(DRAIN_MS))
    .replace("CUTS", CUTS)
)

# KEYS: state. ARGV: the slow start's end to undo (its time, as `CUT` returned it). Returns 1 if
# undone, unless another cut came since: the slow start again, at the rate it had. Only the
# first cut ends it, so no cut came before to restore (`cut_at`, `peak`, `epoch`, `hold` are
# written by cuts alone). `undone_at`: for a second after, slow answers cut nothing (`CUT`).
UNDO = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'cut_at', 'undo_rate')
if s[1] ~= ARGV[1] or not s[2] then return 0 end
redis.call('HDEL', KEYS[1], 'undo_rate', 'cut_at', 'hold', 'peak', 'epoch')
redis.call('HSET', KEYS[1], 'rate', s[2], 'undone_at', tostring(now))
redis.call('HINCRBY', KEYS[1], 'cuts', -1)
return 1
"""
)

# KEYS: log. ARGV: limit, member, window_ms. Returns ms to wait before trying again (0: taken).
WITHIN = (
    _NOW
    + """
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], window)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(tonumber(oldest[2]) + window - now, 1))
"""
)


SIGNINS = ":signins"  # suffix of the account's sign-in log
HOUR_MS = 3_600_000

# KEYS: the sign-in log. ARGV: member. Returns the sign-ins of the last hour.
SIGNED_IN = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - HOUR)
redis.call('PEXPIRE', KEYS[1], HOUR)
return redis.call('ZCARD', KEYS[1])
""".replace("HOUR", str(HOUR_MS))
)


def signins_last_hour(client: Any, settings: DocuWareSettings) -> int:
    """How many times the workers signed in to this server and account in the last hour."""
    now_s, now_us = client.time()
    now_ms = now_s * 1000 + now_us / 1000
    return int(client.zcount(PREFIX + account_key(settings) + SIGNINS, now_ms - HOUR_MS, "+inf"))


def account_key(settings: DocuWareSettings) -> str:
    """A short stable name for one server + account (no secret in it)."""
    parts = (settings.url.rstrip("/").casefold(), settings.signer, settings.organization.casefold())
    text = "\0".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BudgetStatus:
    """What the dashboard and `exmado workers --json` show of one budget."""

    account: str
    rate: float  # learned, requests/s
    cap: float  # `max_requests_per_s`, 0: none
    throttled_5min: int
    last_cut: float | None  # Unix seconds
    peak: float | None = None  # requests/s the server let through at the last cut

    def describe(self) -> str:
        """`17.5 requests/s (cap 50), 3 × 429 in 5 min, last cut 12:03:04 at 20.6/s`."""
        text = f"{self.rate:.1f} requests/s"
        if self.cap:
            text += f" (cap {self.cap:g})"
        text += f", {self.throttled_5min} × 429 in 5 min"
        if self.last_cut is None:
            return text + ", not throttled yet"
        text += ", last cut " + time.strftime("%H:%M:%S", time.localtime(self.last_cut))
        return text + (f" at {self.peak:.1f}/s" if self.peak else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "rate_per_s": round(self.rate, 2),
            "cap_per_s": self.cap or None,
            "throttled_5min": self.throttled_5min,
            "last_cut": self.last_cut,
            "last_cut_at_per_s": round(self.peak, 2) if self.peak else None,
        }


def read_statuses(client: Any) -> list[BudgetStatus]:
    """Every budget in Redis (a sync `redis.Redis`), most throttled first."""
    found = []
    for key in client.scan_iter(match=PREFIX + "*", count=100):
        name = key.decode() if isinstance(key, bytes) else key
        if name.count(":") == 2:  # the state hashes, not their logs
            found.append(_status(client, name))
    return sorted(found, key=lambda s: -s.throttled_5min)


def _status(client: Any, key: str) -> BudgetStatus:
    now_s, now_us = client.time()
    now_ms = now_s * 1000 + now_us / 1000
    rate, cap, cut_at, label, peak = client.hmget(key, "rate", "cap", "cut_at", "label", "peak")
    recent = client.zcount(key + ":429", now_ms - WINDOW_429_MS, "+inf")
    return BudgetStatus(
        account=(label or b"").decode(),
        rate=float(rate or 0),
        cap=float(cap or 0),
        throttled_5min=int(recent),
        last_cut=float(cut_at) / 1000 if cut_at else None,
        peak=float(peak) if peak else None,
    )


log = logging.getLogger("exmado.docuware")


class Kind(Enum):
    """Which per-minute limit a request counts against, besides the request budget (none for
    `REQUEST`)."""

    REQUEST = "request"
    LOGON = "logon"
    CABINETS = "cabinets"


_LOGON = re.compile(r"(/connect/token|/Account/Logon)/?$", re.IGNORECASE)
_CABINETS = re.compile(r"/FileCabinets(/[^/]+)?/?$", re.IGNORECASE)


def kind_of(path: str) -> Kind:
    if _LOGON.search(path):
        return Kind.LOGON
    if _CABINETS.search(path):
        return Kind.CABINETS
    return Kind.REQUEST


class PerMinute:
    """One account's per-minute limits (0 = none) and the pace of its requests without
    credentials, kept in Redis under `key`."""

    def __init__(self, redis: Any, key: str, logons: int, cabinet_lists: int) -> None:
        self.key = key
        self._limits = {Kind.LOGON: logons, Kind.CABINETS: cabinet_lists}
        self._within = redis.register_script(WITHIN)
        self._signed_in = redis.register_script(SIGNED_IN)

    async def wait(self, kind: Kind) -> None:
        """Wait until a request of `kind` is within its limit (at once for a plain request)."""
        if kind is Kind.LOGON:
            await self._note_signin()
        per_min = self._limits.get(kind, 0)
        if per_min > 0:
            await self._wait_within(kind.value, per_min, 60_000, told=True)

    async def wait_uncounted(self, rate: float) -> None:
        """Wait until a request without credentials is within `rate` a second, every
        process's together."""
        await self._wait_within("uncounted", rate, 1000, told=False)

    async def _wait_within(self, name: str, limit: float, window_ms: int, told: bool) -> None:
        """`told`: a wait goes to the log (a minute's limit reached is news; a pace is not)."""
        key = f"{self.key}:{name}"
        try:
            while wait_ms := float(
                await self._within(keys=[key], args=[limit, uuid.uuid4().hex, window_ms])
            ):
                if told:
                    log.info(
                        "DocuWare %s limit (%g a minute): waiting %.1f s",
                        name,
                        limit,
                        wait_ms / 1000,
                    )
                await asyncio.sleep(wait_ms / 1000)
        except RedisError as exc:
            log.warning("The %s limit is not reachable in Redis (%s); going on", name, exc)

    async def _note_signin(self) -> None:
        try:
            await self._signed_in(keys=[self.key + SIGNINS], args=[uuid.uuid4().hex])
        except RedisError as exc:
            log.warning("Sign-in log not reachable in Redis (%s); going on", exc)


class SharedLookups:
    """The lookups of one account (`key`: the budget's Redis key), on an async Redis client."""

    def __init__(self, redis: Any, key: str) -> None:
        self.redis = redis
        self.key = key

    async def recall(self, href: str) -> bytes | None:
        """A lookup's body another worker (or an earlier start) read within `LOOKUP_TTL_S`."""
        try:
            body: bytes | None = await self.redis.get(self._key(href))
        except RedisError:
            return None
        return body

    async def remember(self, href: str, body: bytes) -> None:
        with contextlib.suppress(RedisError):
            await self.redis.set(self._key(href), body, ex=LOOKUP_TTL_S)

    def _key(self, href: str) -> str:
        return f"{self.key}:lookup:{hashlib.sha256(href.encode()).hexdigest()[:24]}"


def forget(redis: Any, key: str) -> int:
    """Drop every shared lookup of the account `key` (on a sync Redis client); how many."""
    names = list(redis.scan_iter(match=f"{key}:lookup:*", count=500))
    return int(redis.delete(*names)) if names else 0
