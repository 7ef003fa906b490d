"""Benchmark of the shared request budget against a throttling sandbox (prints, asserts none).

    .venv/bin/python -m tests.benchmarks.bench_throttle [--seconds 30] [--rates 5,20,100]
        [--latency-ms 20] [--skip throttled,free,follow] [--spread 0] [--spikes 0:0]
        [--free-rounds 1]

The sandbox throttles at each of `--rates` requests a second per user and, like DocuWare Cloud,
answers a throttled request 429 only after 10 s (Retry-After: 1); then it does not throttle at
all. Éxmado is told nothing of the rate: the shipped defaults and a fresh Redis for every run
(a cold start). Real `exmado worker` processes, real Redis, the sandbox over HTTP (in this
process, 20 ms added to every request, or `--latency-ms`: DocuWare Cloud answers in 100 ms
and more; `--spikes 0.1:250`: one request in ten 250 ms more, a server whose answers vary),
the harness of tests/reliability.

1. each throttled rate with 1 worker process (one job) and 4 (four jobs sharing the rows),
   rows enough for `--seconds` of ideal time (400 at least): requests, 429s (%), wall time,
   ideal time (useful requests ÷ the server's rate) and their ratio. Targets: ≤ 2 % 429,
   ≤ 1.2x ideal. Then the same jobs again on new worker processes, Redis kept: the rate the
   first run learned, as every job after the first against that server meets it.
2. not throttled, 1 and 4 processes, `--rows` rows: rows/s with the shipped defaults and with
   the budget off (`[docuware] shared_budget = false`, each process only waits out its own
   429s), in the same run, and how long from the first request until the request rate first
   reached 90 % of the budget-off run's. Targets: ≥ 95 % of budget off; 90 % within 5 s.
   Then the same jobs again on new worker processes, Redis kept: the rate the first run
   learned, as every job after the first against a server meets it. `--free-rounds N`: N
   rounds of the three in turns, and their medians (budget off alone ranged 206-380 rows/s
   between consecutive runs on one day).
3. the server's limit dropped from 40/s to 10/s mid-job and raised back to 40/s: seconds until
   the budget's rate follows (≤ 12.5/s after the drop, ≥ 32/s after the rise). Target: 10 s.
4. with `--spread N`: N cold first jobs of 100 rows on four processes at each of `--rates`,
   their 429s each. One run of part 1 is one draw: the 5/s first job with four processes gave
   1.2 %, 2.7 % and 4.7 % in three runs of one day.

The wall time counts from the jobs' start to their end (workers already running), so it
includes validating the workbook, signing in and the cabinet lookups.

Measured on the 2-core development VM, quiet (load average under 1), `--seconds 25`, one run
each (the same line differs by about a point of 429s from run to run): the morning of
2026-12-05 (07:37), and the evening (22:03) after a cut restarts the schedule at once and
successes are reported as they come. The evening's 429s include those of the run's requests
held past its end (the sandbox answers them 10 s later: the run now waits for them); the
morning's went to the next run's count instead.

                        07:37                         22:03
    5/s, 1 process  :  2.3 % 429, 1.09x ideal       2.3 % 429, 1.09x ideal
    5/s, 4 process  :  1.6 % 429, 1.10x             2.4 % 429, 1.12x
    20/s, 1 process :  2.3 % 429, 1.16x             2.3 % 429, 1.14x
    20/s, 4 process :  3.0 % 429, 1.21x             4.1 % 429, 1.16x (3.0-3.7 %, 1.15-1.17x in
                                                    four more runs)
    100/s, 1 process:  1.3 % 429, 1.22x             1.6 % 429, 1.20x
    100/s, 4 process:  3.1 % 429, 1.30x             2.5 % 429, 1.19x
    not throttled, 1 process, 2000 rows (21:45): defaults 72 % of budget off's rows/s, 90 % of
      its request rate after 4.3 s, once going 100 % of it; the next job 99 %
    not throttled, 4 processes: 58 %, 5.3 s, once going 93 %; the next jobs 94 %
    the same with `--rows 6000` (22:50): 1 process 90 % (the next job 99 %), 4 processes 77 %
      (97 %): the slow start costs the first job 2-3.5 s, whatever its length
    limit 40 → 10/s: rate ≤ 12.5/s after 11.4 s (morning), 8.1 s (evening);
      10 → 40/s: ≥ 32/s after 6.0 s, 6.2 s

2026-12-06 (quiet, one run), after the probe's clock stops between jobs and K is at least 5 s,
with the next job (Redis kept) beside the first. Before, the next job started far out on the
probe's curve: 8.4 % and 9.1 % 429s at 20/s with four processes (two runs, a script outside
the suite), against 3.5 % for the first job.

                        the first job                 the next job
    5/s, 1 process  :  2.3 % 429, 1.09x ideal       1.2 % 429, 1.08x ideal
    5/s, 4 process  :  2.0 % 429, 1.11x             1.1 % 429, 1.09x
    20/s, 1 process :  1.5 % 429, 1.14x             0.6 % 429, 1.08x
    20/s, 4 process :  2.4 % 429, 1.15x             0.8 % 429, 1.12x
    100/s, 1 process:  0.9 % 429, 1.19x             0.2 % 429, 1.14x
    100/s, 4 process:  2.0 % 429, 1.19x             0.7 % 429, 1.11x
    not throttled (the VM slower: budget off 276 rows/s with one process): 1 process 66 % of
      budget off's rows/s, 90 % of its request rate after 7.0 s, once going 83 %, the next job
      93 %; 4 processes 60 %, 6.3 s, 85 %, 93 %
    limit 40 → 10/s: rate ≤ 12.5/s after 6.4 s; 10 → 40/s: ≥ 32/s after 6.3 s

2026-12-06 05:00-05:35 (quiet, one run each), after a process in the slow start sends nothing
while its requests out fill what its send rate and answer time hold (`budget._wait_for_room`).
At `--latency-ms 100`, nearer DocuWare Cloud's answer times, the code before and after, run
one after the other; at 20 ms, after only (the table above is before):

                        20 ms, the first job    100 ms before / after, the first job
    5/s, 1 process  :  2.3 % 429, 1.08x ideal
    5/s, 4 process  :  1.6 % 429, 1.13x
    20/s, 1 process :  0.8 % 429, 1.13x         2.5 % 429, 1.15x  /  1.5 % 429, 1.14x
    20/s, 4 process :  2.1 % 429, 1.16x         5.1 % 429, 1.19x  /  3.9 % 429, 1.17x
    100/s, 1 process:  0.6 % 429, 1.18x         0.9 % 429, 1.22x  /  0.7 % 429, 1.21x
    100/s, 4 process:  0.9 % 429, 1.19x         2.3 % 429, 1.22x  /  1.6 % 429, 1.20x
    the next job, 20 ms: 0.6-1.2 % 429, 1.07-1.12x; 100 ms, after: 0.6-1.0 %, 1.11-1.15x
    not throttled, 20 ms, the first job (the same run for each): 1 process 75 % of budget
      off's rows/s, 90 % of its request rate after 4.0 s (before: 75 %, 5.3 s); 4 processes
      70 %, 5.0 s (before: 57 %, never reached, a false cut at 1,180/s). That was with the
      room looked at every 10 ms; with the wait ending at an answer (06:12): 1 process 71 %,
      4.3 s, the next job 92 %; 4 processes 75 %, 4.5 s, the next jobs 113 %

2026-12-06 evening (one run each, the shipped defaults, 20 ms): at 20:04 on the code of the
afternoon (the client's transport httpx over aiohttp, permits held only for requests), and at
21:24 after the slow start's end lets its overshoot drain (a lower peak, a hold of 0.5 s or 8
requests' time, a room of one request; `budget_store` says why):

                        20:04, the first job / next     21:24, the first job / next
    5/s, 1 process  :  2.3 % 429, 1.08x / 1.2 %, 1.08x   1.6 % 429, 1.09x / 1.2 %, 1.08x
    5/s, 4 process  :  1.4 %, 1.11x / 1.2 %, 1.10x      3.3 %, 1.11x / 1.2 %, 1.10x
    20/s, 1 process :  1.0 %, 1.13x / 0.5 %, 1.08x      1.3 %, 1.16x / 0.5 %, 1.09x
    20/s, 4 process :  2.4 %, 1.15x / 0.5 %, 1.11x      1.3 %, 1.16x / 0.7 %, 1.09x
    100/s, 1 process:  0.7 %, 1.17x / 0.4 %, 1.11x      0.6 %, 1.21x / 0.6 %, 1.10x
    100/s, 4 process:  1.1 %, 1.22x / 0.4 %, 1.11x      1.6 %, 1.21x / 0.6 %, 1.09x
    not throttled, 1 process: 74 % / 98 % of budget off's rows/s, 90 % of its request rate
      after 4.5 s (20:04); 57 % / 87 %, 5.0 s (21:24)
    not throttled, 4 processes: 54 % / 94 %, 5.3 s (20:04); 46 % / 99 %, 6.3 s (21:24)
    limit 40 -> 10/s followed after 4.9 s, 10 -> 40/s after 9.8 s (20:04); 11.1 s, 2.7 s

One run says little at 5/s with four processes: its first jobs are either quiet (2-3 429s
in 100 rows) or, one run in two, refused again and again for the 2-5 s after the first cut
(9-15), before and after the change (a script outside the suite, three runs each: 13, 15, 2
before; 9, 3, 2 after). In the same script, 20/s, four processes, 200 rows: 8-15 429s a first
job before (eight runs), 4-5 after (six). Not throttled, the same code twice in turns (21:45,
`--skip throttled,follow`): one process reached 90 % after 4.3-4.5 s with a room of two and
4.5-4.8 s with one; four processes never, or after 6.0 s, with two and 5.3 s with one.

The 21:24 run had the slow start's end take 0.9 of its window as the peak. At `--latency-ms
100` (21:51, one run each) the first jobs sent 3.1 % 429s (20/s, one process), 3.2 % (four),
0.9 % (100/s, one), 2.2 % (four), 1.19-1.27x ideal, against 1.5 %, 3.9 %, 0.7 %, 1.6 % in the
05:00 run above; the peak below the limit put the first probe on the curve's steep part.
The shipped 0.93 (22:04, `--rates 20,100 --seconds 15`, 20 ms): 0.9 % 429, 1.17x (20/s, one
process), 1.6 %, 1.21x (four); 0.8 %, 1.26x (100/s, one), 0.9 %, 1.29x (four); the next jobs
0.1-1.4 %. Jobs half as long as above, so the fixed seconds weigh twice: the same run on the
afternoon's code (18:22) gave 1.2 %, 1.15x; 2.0 %, 1.18x; 1.2 %, 1.28x; 0.9 %, 1.27x.

2026-12-07 00:11 (one run each, 0.93 shipped, `--seconds 25`), after the pipeline's changes of
the night (a feed of 8 rows a request, the store's prepared INSERT; the budget unchanged),
the first job / the next, 20 ms: 5/s 2.1 %, 1.09x / 1.2 %, 1.08x (one process), 1.2 %, 1.13x /
1.2 %, 1.09x (four); 20/s 0.8 %, 1.18x / 0.6 %, 1.09x; 1.6 %, 1.18x / 0.6 %, 1.09x; 100/s
0.6 %, 1.20x / 0.5 %, 1.13x; 0.8 %, 1.21x / 0.3 %, 1.11x. Not throttled: one process 65 % /
98 % of budget off's rows/s, 90 % of its request rate after 5.8 s; four 56 % / 93 %, 5.3 s.
Limit 40 -> 10/s followed after 8.2 s, 10 -> 40/s after 11.6 s. At `--latency-ms 100`
(00:27): 20/s 1.8 %, 1.18x (one process), 3.2 %, 1.20x (four); 100/s 0.8 %, 1.22x, 3.0 %,
1.23x; the next jobs 0.4-1.5 %, 1.10-1.15x.

The slow start's 429s alone at 100 ms, 20/s, four processes (a script outside the suite,
six runs each): 21, 17, 20, 16, 16, 16 before (the whole first job 20-33), 13, 10, 11, 12, 11,
10 after; at 20 ms, 9-12 before, 7-11 after. The slower the answers, the later a held request
is found stalled (three answer times), and the more the doubling sent into the full window.

Where the rest goes (the sandbox's arrivals and 429s each 0.25 s, the 429s dated back 10 s to
when their requests came): most 429s of four processes come from the slow start, whose doubling
fills the server's one-second window only once the rate is well past its limit (at 100/s: 40 of
53, the rate at 200-330/s when the first held request is seen); the rest from probes past the
peak, one or two each. Of the wall time past ideal: the slow start (~1.5 s), the sign-ins and
lookups of four processes (21 requests besides the useful ones), the 429s' own requests, and
the dip after each cut. The slow start's overshoot and its speed on a fast server are one
trade: its growth is bounded by `AHEAD` times the rate of answers, and (evening, two runs each,
four processes) `AHEAD` 1.6 brought 20/s to 2.1-2.2 % 429s but a server that does not throttle
to 480 requests/s only after 6.5 s (4.0 s at 2.5); a 250 ms answers window did not change that.

2026-12-07 02:14 (one run each, `--seconds 25`, 20 ms), after the slow start's room also reads
the sends of the last three answer times when they are four or more (`budget._send_rate`),
the first job / the next: 5/s 1.9 %, 1.10x / 1.2 %, 1.08x (one process), 1.2 %, 1.13x / 1.2 %,
1.10x (four); 20/s 0.8 %, 1.17x / 0.6 %, 1.10x; 1.2 %, 1.20x / 0.6 %, 1.09x; 100/s 0.7 %,
1.20x / 0.5 %, 1.13x; 1.0 %, 1.23x / 0.4 %, 1.10x. Not throttled: one process 79 % / 119 % of
budget off's rows/s (budget off slow in that run), 90 % of its request rate after 4.0 s, once
going 101 %; four 66 % / 100 %, 6.8 s, once going 83 % (the four workers and the sandbox on two
cores: budget off 535 requests/s). Limit 40 -> 10/s followed after 6.9 s, 10 -> 40/s after
10.2 s. With the room read over three answer times alone (the first try, 01:37): 20/s 0.8 %
and 2.1 %, 100/s 0.7 % and 1.7 % (one and four processes); at 100 ms, 20/s 2.0 % and 3.0 %.

2026-12-07 04:40 (one run, `--seconds 25`, 20 ms, the budget unchanged since 02:14), the first
job / the next: 5/s 1.9 %, 1.10x / 1.2 %, 1.08x (one process), 1.2 %, 1.14x / 1.2 %, 1.10x
(four); 20/s 0.8 %, 1.15x / 0.6 %, 1.10x; 1.5 %, 1.18x / 0.6 %, 1.13x; 100/s 0.6 %, 1.20x /
0.6 %, 1.13x; 1.6 %, 1.24x / 1.0 %, 1.12x. Not throttled (the VM fast: budget off 339 and 445
rows/s): one process 57 % / 73 % of budget off's rows/s, never at 90 % of its request rate
(once going 72 %); four 60 % / 95 %, 5.0 s, once going 100 %. Limit 40 -> 10/s followed after
9.4 s, 10 -> 40/s after 12.6 s. The 5/s first job with four processes spreads: 2.7 % (12 429s)
in a run at 04:27 and 4.7 % (21, a helper's tests on the machine) at 03:30; part 4 (05:06,
`--rates 5 --spread 8`): 429s 8, 2, 16, 2, 2, 2, 2, 15 (median 2) in first jobs of about 130
requests. The sandbox's
accept/refuse log beside the budget's rate shows why: the slow start ends at ~1.8 s with a
window of 8-10 grants (the sign-ins' anonymous discovery among them) while the sandbox had let
about 5 of the user's through, so the first peak is 8.4-9.3/s; and the held requests after
it cut only every ~2.2 s (`held_after`, then `DRAIN_MS`), three cuts down to 4.1/s, one
refusal in about 0.4 s meanwhile.

2026-12-07 07:02 (one run, at 7a53fdb: no request judged slow before the usual answer time is
known, a sign-in's answer time not judged, a held request cutting from `FELL` of the window
when far less got through, the probe doubling every 0.5 s), the first job / the next: 5/s
1.4 %, 1.10x / 1.2 %, 1.07x (one process), 1.6 %, 1.11x / 1.2 %, 1.10x (four); 20/s 0.8 %,
1.15x / 0.6 %, 1.08x; 1.2 %, 1.20x / 0.6 %, 1.08x; 100/s 0.7 %, 1.18x / 0.2 %, 1.12x; 0.7 %,
1.24x / 1.8 %, 1.11x. Not throttled: one process 50 % / 97 % of budget off's rows/s (561),
90 % of its request rate after 5.3 s; four 40 % / 97 % (675), 6.5 s. Limit 40 -> 10/s followed
after 2.3 s, 10 -> 40/s after 11.2 s. Tried that morning and not kept: what got through as the
cut's measure at the slow start's end (20/s 2.9 % 429s with one and with four processes), and
DocuWare's discovery sent unpaced (the sandbox, which counts it against the address, refused
the four processes' sign-ins at 5/s).

2026-12-07, second session (one run each, `--seconds 25`, 20 ms; the first job / the next).
At 11:24, DocuWare's discovery counted again among what got through (blamed, wrongly as the
runs below show, for 07:02's four-process next job at 100/s): 100/s 0.7 %, 1.19x / 0.6 %, 1.11x (one
process), 2.3 %, 1.24x / 2.3 %, 1.14x (four). The sandbox's accepts and refusals beside the
budget's state, every 0.5 s (a script outside the suite, four processes at 100/s), showed
whence the four processes' 429s: a slow answer 2 s into the first job ended its slow start at
24/s with a peak of 12/s and no refusal yet, so the job ran at 12/s for 10 s (1.61x); and each
probe past 2K, doubling every 0.5 s, reached 136-305/s before a request was found held (0.5
s): 23-62 429s a probe. After a slow answer past the peak ends the probe and a cut whose
request is answered after all is undone (11:38): 100/s 0.6 %, 1.19x / 0.2 %, 1.13x; 0.6 %,
1.21x / 0.4 %, 1.12x; 20/s 0.8 %, 1.17x / 0.6 %, 1.09x; 1.4 %, 1.16x / 1.2 %, 1.11x; 5/s
2.1 %, 1.09x / 1.2 %, 1.07x; 3.6 %, 1.13x / 1.2 %, 1.10x. Limit 40 -> 10/s followed after
2.4 s, 10 -> 40/s after 10.0 s; in the trace, 1-2 429s a probe. With K of 40 requests' time
and at least 4 s (12:18): 5/s 2.1 %, 1.09x / 1.7 %, 1.08x; 3.2 %, 1.11x / 1.4 %, 1.11x; 20/s
1.0 %, 1.18x / 0.6 %, 1.10x; 2.3 %, 1.19x / 0.8 %, 1.11x; 100/s 0.7 %, 1.19x / 0.3 %, 1.09x;
0.8 %, 1.21x / 0.4 %, 1.10x; followed after 3.6 s and 6.6 s. With only the slow start's end
undoable (12:58, `--rates 20,100`): 20/s 1.0 %, 1.18x / 0.6 %, 1.09x; 1.7 %, 1.18x / 2.0 %,
1.12x (13:05, again: 1.4 %, 1.18x / 0.8 %, 1.10x); 100/s 0.8 %, 1.19x / 0.2 %, 1.09x; 1.0 %,
1.22x / 0.2 %, 1.09x.
Part 4 at 5/s (`--spread 8`): 429s 6, 4, 2, 9, 11, 3, 6, 8 before those changes (median 6),
9, 3, 7, 4, 2, 5, 9, 6 after (5.5); not kept: 4, 6, 5, 5, 6, 15, 4, 4 (5) with `FELL` 0.8,
and 7, 5, 6, 4, 8, 3, 9, 10 (6.5) with discovery left out of what got through and `FELL`
judged at the slow start's end too. The five-per-second first job's 429s come from the slow
start's end: its window holds the four sign-ins' discovery, which the sandbox counts against
the address, not the user, so the first peak reads 8.4/s, and three cuts about two seconds
apart (`DRAIN_MS`, then a held request) bring it to 4.8/s, a refusal every half second
meanwhile.
Not throttled (12:14; the VM slow: budget off 345 and 576 rows/s): one process 62 % / 86 %
of budget off's rows/s, 90 % of its request rate after 8.5 s; four 49 % / 112 %, 5.8 s. The
same one-process cold start traced at 12:16: the rate past 32/s at 2.0 s, 490/s at 3.0 s,
the sandbox at 420-430 requests/s from 3.5 s (budget off's once going: 428). Again at 12:47
(budget off 341 and 505 rows/s): one process 65 % / 107 %, 5.8 s; four 55 % / 111 %, 5.3 s.

2026-12-07, third session (one run each, `--seconds 25`, 20 ms; the first job / the next).
Part 4 at 5/s with a request sent without credentials (discovery, the sign-in) left out of the
window (`UNCOUNTED`): 429s 4, 6, 10, 2, 9, 8, 7, 5 (median 6.5; a first try, 3, 4, 4, 4, 2, 3,
2, 2, had a bug that never gave up a held request, so none was sent again into the full
window). A trace of one such job (the sandbox's accepts and refusals each 0.25 s): the first
peak reads 6.5/s where it read 8.4-9.3/s, but two of its seven 429s are the sign-ins' own
(twelve requests without credentials from four processes in 1.75 s, which the sandbox counts
against the address at the same 5/s), two the slow start's end, two the descent from 6.5/s,
one a probe. Part 1 after it (15:00): 5/s 1.6 %, 1.10x / 1.4 %, 1.08x (one process), 2.5 %,
1.13x / 1.4 %, 1.10x (four); 20/s 1.0 %, 1.18x / 0.6 %, 1.10x; 1.4 %, 1.19x / 1.0 %, 1.10x;
100/s 0.7 %, 1.20x / 0.4 %, 1.13x; 0.8 %, 1.20x / 0.6 %, 1.11x. Not throttled (15:10, budget
off 329 and 553 rows/s): one process 73 % / 106 %, 90 % of budget off's request rate after
4.5 s; four 45 % / 105 %, 6.1 s.
With the slow start doubling every 0.6 s, 0.25 s past 32/s (were 0.75 s and 0.3 s; 15:15):
5/s 1.9 %, 1.09x / 1.4 %, 1.08x; 2.7 %, 1.12x / 1.4 %, 1.10x; 20/s 1.0 %, 1.17x / 0.6 %,
1.10x; 1.4 %, 1.19x / 1.0 %, 1.10x; 100/s 0.8 %, 1.16x / 0.6 %, 1.13x; 0.9 %, 1.19x / 0.3 %,
1.10x. Not throttled (budget off 308 and 424 rows/s): one process 81 % / 138 %, 3.5 s; four
69 % / 130 %, 5.0 s. Limit 40 -> 10/s followed after 3.6 s, 10 -> 40/s after 3.3 s.
A trace at 5/s after it showed the first peak still read from a window of 7-9 sends where 5
got through: a slow start's batches waiting for room drop their times unsent, and those stayed
in the send log. With the times dropped unsent left out too, and requests without credentials
paced (at most START a second at first; the sandbox had refused two of the twelve): part 4
429s 2, 5, 4, 4, 5, 6, 5, 5 (median 5); part 1 at 5/s 1.9 %, 1.09x / 1.4 %, 1.08x (one
process), 2.1 %, 1.11x / 1.4 %, 1.10x (four), and 2.1 %, 1.12x again with the unsent times
sent with the next reservation instead of a round trip each; 20/s 1.0 %, 1.15x / 0.6 %,
1.09x; 1.2 %, 1.17x / 2.0 %, 1.10x; 100/s 0.8 %, 1.18x / 0.2 %, 1.09x; 1.0 %, 1.19x / 0.3 %,
1.11x (tests ran beside part of it). Paced at START, the next job's four processes took 3 s to
sign in (not throttled: the next job 79 % of budget off's rows/s); paced at the budget's rate
(15:31, budget off 433 and 620 rows/s): one process 62 % / 94 %, 4.3 s; four 50 % / 85 %,
5.0 s; and 5/s 1.9 %, 1.10x / 1.4 %, 1.08x (one process), 1.8 %, 1.13x / 1.4 %, 1.10x
(four). Again at 15:44, the same code: 5/s 1.9 %, 1.10x / 1.4 %, 1.08x; 2.5 %, 1.13x / 1.4 %,
1.10x; 20/s 1.0 %, 1.17x / 0.6 %, 1.09x; 1.2 %, 1.17x / 1.8 %, 1.10x. The five-per-second
first job with four processes still spreads: 8 and 11 429s in two runs.

2026-12-07, fourth session. A trace of the 5/s four-process first job (the sandbox's accepts
and refusals beside the budget's state every 10 ms): the slow start's end read a window of
7/s where the server had let 4-5 through, so the peak became 6.5/s and the descent from it
cost two to four 429s; and a request refused at 0.96 s went unjudged (its window read START),
so the slow start went on to 29/s. With the exit's peak no more than what got through with
credentials, and the first second judged: 7, 8, 8 429s in three traced runs (9, 13, 11 and
8, 8, 10 before), each 1-2 at the slow start's end and 5-6 probes, one every 14.3 s. Part 1
(18:30): 5/s 1.9 %, 1.10x / 1.4 %, 1.08x (one process); 2.1 %, 1.12x / 1.4 %, 1.10x (four);
at 17:58, 20/s 1.0 %, 1.15x / 0.6 %, 1.07x; 1.2 %, 1.18x / 0.8 %, 1.10x; 100/s 0.8 %, 1.19x
/ 0.9 %, 1.15x; 1.0 %, 1.19x / 0.5 %, 1.12x. Not throttled (budget off 414 and 454 rows/s):
one process 68 % / 102 %, 90 % of budget off's request rate after 3.8 s; four 63 % / 112 %,
4.8 s; no cut. Limit 40 -> 10/s followed after 2.1 s, 10 -> 40/s after 2.8 s. What was left
at 5/s was the probes: each costs one 429, and the period the 10/s follow needs (K of 40
requests' time) made them 1.4 % of a 5/s job's requests. With K longer below 8/s (`SLOW_FROM`;
14 s at 5/s, a probe every 23 s): two traced runs 5 and 4 429s; part 1 (17:39) 5/s 1.2 %,
1.09x / 1.0 %, 1.07x (one process); 1.4 %, 1.13x / 0.9 %, 1.10x (four); limit 40 -> 10/s
followed after 3.9 s, 10 -> 40/s after 1.0 s. Part 4 at 5/s (`--spread 8`): 429s 4, 3, 2, 3,
2, 4, 2, 4 (median 3; last session's median 5). With 100 ms latency (17:54): 5/s 1.4 %,
1.10x / 1.0 %, 1.08x; 1.6 %, 1.12x / 0.9 %, 1.10x; 20/s 3.5 %, 1.18x / 1.2 %, 1.13x; 4.0 %,
1.21x / 0.6 %, 1.12x; 100/s 0.9 %, 1.19x / 0.4 %, 1.13x; 2.4 %, 1.19x / 1.2 %, 1.16x. 20/s
again: 3.5 % / 2.9 %, and at faaa329 (before this session's budget changes) 2.5 % / 4.2 %.
A trace at 20/s, one process: ten 429s at the slow start's end within 0.2 s (the rate past
`FAST_FROM` doubled to 62/s before the first refusal, 0.3 s to find stalled, and the room of
twice the send rate times 100 ms held ten requests), then five at the first probe: the
window read 19/s at the end, right, but `EXIT_PLATEAU` of it put the peak 12 % under the
limit, and the probe crossed it where the curve turns steep at `2K` (what got through,
aligned to the second the request was sent in, changed nothing: tried, not kept). Tried, not
kept for want of time to measure it at 20 ms and not throttled: the room from the process's
answers, not its sends (TCP's ACK clock): six at the end, not ten, in one run.

2026-12-07, fifth session (the VM slow: budget off 117-254 rows/s not throttled, where the
fourth session had 414-454; 100/s ran at 1.23-1.25x the ideal time with the code before too,
CPU-bound). Traces at 20/s, 100 ms latency (the sandbox's accepts and refusals beside the
budget's rate, every 20 ms): a probe past `2K` went 20 -> 25 -> 35/s in 0.5 s before its cut,
5-6 429s; and a next job of four processes, resuming past `2K` where the first had ended, went
to 60/s, 17-20 429s within 0.5 s (4.6-4.9 % of that job, two runs in three). With the probe
run at most `PROBE_AHEAD` (1.25) times its answers ahead: 1-3 429s a probe, the next jobs
0.8 %. Limit 10 -> 40/s then followed after 5.3-7.1 s (1.0-2.8 s before), 40 -> 10/s after
2.8-3.6 s; the worst case, a rise just after a cut, 9.3 s on the fake clock with `K` of 36
requests' time (10.3 s at 40). Part 4 at 20/s, 100 ms latency, cold first jobs of 100 rows on
four processes, the room read from the sends and from the answers in turns, six jobs each:
429s median 13 (11-15) and 13 (11-16) from the sends, 9 (8-9) and 9 (7-11) from the answers.
Not throttled, the same in turns, twice each, too noisy on that VM to tell apart: first jobs
74 % and 85 % (one process) and 79 % and 71 % (four) of budget off's rows/s from the sends,
73 % and 81 %, 72 % and 80 % from the answers; 90 % of budget off's request rate after 6.0 s,
4.8 s, 4.3 s, 7.7 s from the sends, after never (once going 82 %), 8.0 s, 7.3 s, 5.3 s from
the answers. With both (HEAD): 20/s, 100 ms latency 2.4 %, 1.20x / 0.8 %, 1.11x (one
process), 2.3 %, 1.19x / 0.8 %, 1.15x (four), against 2.9-4.0 % at the session's start; 20 ms
1.2 %, 1.16x / 0.8 %, 1.12x; 1.7 %, 1.18x / 0.8 %, 1.11x. At 20 ms with the answers' room and
the probe bound at `K` of 40 requests' time: 5/s 1.2 %, 1.11x / 1.0 %, 1.09x; 0.9 %, 1.13x /
0.9 %, 1.11x; 100/s 0.8 %, 1.23x / 0.2 %, 1.12x; 0.6 %, 1.19x / 0.5 %, 1.16x. Part 4 at 5/s,
20 ms (HEAD): 429s 4, 4, 3, 2, 4, 2 (median 3.5; the fourth session's 3). Then the probe may
also run `PROBE_SLACK` (4/s) above its answers (at 7.5/s, bound to 1.25 times a count of three
answers a half second, the rate never grew again): 5/s 1.4 %, 1.09x / 1.0 %, 1.08x (one
process); 1.6 %, 1.12x / 0.9 %, 1.10x (four). At 20/s and more the slack changes nothing.

2026-12-07, sixth session (budget off 270-450 rows/s not throttled). Part 4 at 20/s, 100 ms,
in turns: 429s 9.6 a cold job on average (12 jobs) with the fast doubling read from the rate,
9.0 (24 jobs) from the answers; a slow start's stall time of two answer times, not three, on
top: 7.5 (12 jobs), but with one answer in ten 150 ms late (`--spikes 0.1:150`, not throttled)
its first jobs ran at 43-71 % of budget off, a false cut standing in each, against 66-92 % at
three: not kept. `--spikes 0.1:250` showed that cuts of late answers stood one time in five
(the answer came while the cut was on its way to Redis) and that, with that mended, the cuts
came back as fast as they were undone (140 in a run): the next jobs with four processes 68-76 %
of budget off, 89-91 % once a second after an undone cut slow answers cut nothing. The code at
the session's end, `--seconds 25`, 20 ms, the first job / the next: 5/s 1.4 %, 1.09x / 1.0 %,
1.07x (one process); 1.4 %, 1.13x / 0.9 %, 1.09x (four); 20/s 1.0 %, 1.17x / 0.6 %, 1.08x;
1.4 %, 1.18x / 1.4 %, 1.11x; 100/s 0.7 %, 1.19x / 0.4 %, 1.13x; 0.6 %, 1.21x / 0.5 %, 1.11x.
Not throttled: one process 63 % / 85 % of budget off's rows/s, never at 90 % of its request
rate (once going 75 %); four 63 % / 105 %, 4.8 s. Limit 40 -> 10/s followed after 3.9 s,
10 -> 40/s after 9.3 s. At 100 ms, 20/s, the session's start and end one after the other: 2.2 %,
1.18x / 1.0 % and 2.7 %, 1.20x / 0.8 % before; 2.0 %, 1.18x / 1.0 % and 2.5 %, 1.16x / 1.6 %
after.

2026-12-08 (the VM slow: budget off 206-252 rows/s with one process, not throttled), the code
before and after the turns are handed out by one task and the next send times reserved ahead
(a request's turn, not throttled: 12-36 ms before, 1.1-1.4 ms after), one after the other.
Part 1, `--seconds 25`, 20 ms, the first job / the next, before -> after: 5/s 1.4 %, 1.09x /
1.0 % -> 1.4 %, 1.10x / 1.0 % (one process), 1.6 %, 1.12x / 0.9 % -> 0.9 %, 1.14x / 1.4 %
(four); 20/s 1.0 %, 1.18x / 0.6 % -> 1.2 %, 1.19x / 0.6 %; 1.4 %, 1.20x / 0.8 % -> 1.2 %,
1.20x / 0.6 %; 100/s 0.7 %, 1.22x / 0.6 % -> 0.7 %, 1.21x / 0.7 %; 0.6 %, 1.21x / 0.4 % ->
0.6 %, 1.23x / 0.7 %: throttled, the same. At 100 ms, 20/s: 2.2 %, 1.19x and 2.1 %, 1.22x ->
2.0 %, 1.19x and 2.3 %, 1.19x (one and four processes). Not throttled, `--free-rounds 3`,
medians: one process, the first job 72 % -> 83 % of budget off's rows/s, the next 96 % ->
97 %, 90 % of its request rate after 4.5 s (6.5, 4.0, 4.5) -> 3.8 s (4.0, 3.8, 3.8); four
processes 63 % -> 68 %, the next 90 % -> 100 %, after 5.8 s (5.8, 5.3, never) -> 6.9 s (6.9,
4.8, never). A "never" is a first job whose busiest half ran under 90 % of budget off's
(79-81 % here), no cut in it: four workers, the sandbox and Redis on two cores.

A run not throttled lasts 5-9 s with the budget off: the slow start's few seconds are half of
it, so "95 % of budget off" is out of reach for so short a job by design (no limit until the
first throttle would meet it, and hold dozens of rows against a 5/s account); "once going" and
the next job show the rate it learns. On a job of 100,000 rows the same seconds are about 1 %.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from exmado_tui.docuware.budget_store import PREFIX, read_statuses
from exmado_tui.sandbox import FaultSettings, SandboxConfig, SandboxServer
from exmado_tui.services.localredis import RedisServer
from tests.reliability.harness import Exmado

DELAY_MS = 10_000
LATENCY_MS = 20
USEFUL = ("DialogExpression", "Results", "FileDownload", "Document", "SectionData")
OFF = "shared_budget = false"


class Sampler:
    """The sandbox's request count every 0.25 s while a run lasts."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.samples.append((time.monotonic(), self.sandbox.stats.requests))

    def rates(self) -> list[tuple[float, float]]:
        """(seconds since the first request, requests/s over the second before)."""
        busy = [(t, n) for t, n in self.samples if n > 0]
        if not busy:
            return []
        first = busy[0][0] - 0.25
        return [(t - first, n - m) for (t, n), (_, m) in zip(busy[4:], busy, strict=False)]


def run_jobs(
    sandbox: SandboxServer,
    redis_url: str,
    jobs: int,
    rows: int,
    extra: str = "",
    cold: bool = True,
) -> dict[str, Any]:
    """`jobs` jobs of `rows` rows on `jobs` worker processes; the sandbox's figures of it.

    `cold`: Redis emptied first (nothing learned yet); else the rate the last run learned.
    """
    if cold:
        redis.Redis.from_url(redis_url).flushall()
    folder = Path(tempfile.mkdtemp(prefix="bench-throttle-"))
    exmado = Exmado(folder, redis_url, sandbox)
    exmado.configure(extra, max_concurrent_jobs=jobs, row_concurrency=16, heartbeat_s=1)
    try:
        for _ in range(jobs):
            exmado.start_worker(threads=1)
        numbers = sandbox.catalogue.invoice_numbers_with_hits(jobs * rows)
        books = [
            exmado.workbook(f"w{i}.xlsx", numbers[i * rows : (i + 1) * rows]) for i in range(jobs)
        ]
        sandbox.stats.reset()
        with Sampler(sandbox) as sampler:
            started = time.monotonic()
            ids = [exmado.start_job(book) for book in books]
            done = [exmado.wait(job_id, 1800) for job_id in ids]
            wall = time.monotonic() - started
        cuts, peak = budget_cuts(redis_url)
    finally:
        exmado.stop_workers()
    if sandbox.faults.now.throttle_rps:  # the sandbox answers a held request (counts it) later
        time.sleep(DELAY_MS / 1000 + 0.5)
    stats = sandbox.stats.snapshot()
    useful = sum(stats["by_endpoint"].get(name, 0) for name in USEFUL)
    throttled = int(stats["by_status"].get("429", 0))
    return {
        "requests": stats["requests"],
        "429": throttled,
        "useful": useful - throttled,
        "wall": wall,
        "status": sorted({j.status.value for j in done}),
        "rows": sum(j.done_rows for j in done),
        "rates": sampler.rates(),
        "cuts": cuts,
        "peak": peak,
    }


def budget_cuts(redis_url: str) -> tuple[int, float]:
    """How often the run's budget was cut, and the peak it last learned (0: none)."""
    client = redis.Redis.from_url(redis_url)
    statuses = read_statuses(client)
    if not statuses:
        return 0, 0.0
    key = next(k for k in client.scan_iter(match=PREFIX + "*") if k.count(b":") == 2)
    return int(client.hget(key, "cuts") or 0), statuses[0].peak or 0.0


def throttled_line(label: str, figures: dict[str, Any], rps: float) -> str:
    ideal = figures["useful"] / rps
    share = 100 * figures["429"] / max(figures["requests"], 1)
    return (
        f"  {label:<16}: {figures['requests']:>5} requests, {figures['429']:>4} answered 429 "
        f"({share:4.1f} %), wall {figures['wall']:6.1f} s, ideal {ideal:5.1f} s, "
        f"ratio {figures['wall'] / ideal:5.2f}x  [{figures['rows']} rows, {figures['status']}, "
        f"{figures['cuts']} cuts, peak {figures['peak']:.1f}/s]"
    )


def steady(figures: dict[str, Any]) -> float:
    """The run's request rate once going: the median of its busiest half."""
    rates = sorted(r for _, r in figures["rates"])
    return statistics.median(rates[len(rates) // 2 :]) if rates else 0.0


def free_lines(on: dict[str, Any], off: dict[str, Any], learned: dict[str, Any]) -> list[str]:
    cold = reached_at(on, off)
    on_rows, off_rows = on["rows"] / on["wall"], off["rows"] / off["wall"]
    learned_rows = learned["rows"] / learned["wall"]
    return [
        f"  budget off      : {off_rows:6.1f} rows/s, {off['wall']:5.1f} s, "
        f"{steady(off):5.0f} requests/s once going",
        f"  defaults        : {on_rows:6.1f} rows/s, {on['wall']:5.1f} s "
        f"({100 * on_rows / off_rows:.0f} % of budget off), "
        f"90 % of budget off's request rate after {seconds(cold)}, {on['429']} answered 429, "
        f"{on['cuts']} cuts (peak {on['peak']:.0f}/s); once going {steady(on):5.0f} requests/s "
        f"({100 * steady(on) / steady(off):.0f} % of budget off's)",
        f"  defaults, again : {learned_rows:6.1f} rows/s, {learned['wall']:5.1f} s "
        f"({100 * learned_rows / off_rows:.0f} % of budget off): the next jobs, new worker "
        f"processes, the rate the first learned; {learned['429']} answered 429",
    ]


def free_medians(rounds: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]) -> str:
    """The rounds' medians: the first and the next job's rows/s against budget off's of the
    same round, and the seconds to 90 % of its request rate (a round that never got there
    counts as the longest)."""
    first = [on["rows"] / on["wall"] / (off["rows"] / off["wall"]) for on, off, _ in rounds]
    then = [again["rows"] / again["wall"] / (off["rows"] / off["wall"]) for _, off, again in rounds]
    reached = [reached_at(on, off) for on, off, _ in rounds]
    times = ", ".join(seconds(t) for t in reached)
    middle = statistics.median(t if t is not None else float("inf") for t in reached)
    return (
        f"  {len(rounds)} rounds, medians: the first job {100 * statistics.median(first):.0f} % "
        f"of budget off's rows/s, the next {100 * statistics.median(then):.0f} % "
        f"(each {', '.join(f'{100 * r:.0f}' for r in then)}); 90 % of its request rate after "
        f"{seconds(None if middle == float('inf') else middle)} ({times})"
    )


def reached_at(on: dict[str, Any], off: dict[str, Any]) -> float | None:
    """Seconds from the first request until the request rate reached 90 % of budget off's
    once going (None: never)."""
    floor = 0.9 * steady(off)
    return next((t for t, r in on["rates"] if r >= floor), None)


def spread_line(sandbox: SandboxServer, redis_url: str, rps: float, runs: int) -> str:
    """`runs` cold first jobs of 4 x 25 rows at `rps`: the 429s of each."""
    sandbox.faults.update(throttle_rps=rps)
    counts = [run_jobs(sandbox, redis_url, 4, 25)["429"] for _ in range(runs)]
    sandbox.faults.update(throttle_rps=0)
    return (
        f"spread, {rps:g}/s, 4 processes, 100 rows, {runs} cold first jobs: 429s {counts} "
        f"(median {statistics.median(counts):g}, most {max(counts)})"
    )


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def follow(sandbox: SandboxServer, redis_url: str, rows: int) -> tuple[float | None, float | None]:
    """Seconds until the rate follows a drop 40 → 10/s, then a rise 10 → 40/s, mid-job."""
    sandbox.faults.update(throttle_rps=40)
    client = redis.Redis.from_url(redis_url)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            statuses = read_statuses(client)
            if statuses:
                samples.append((time.monotonic(), statuses[0].rate))

    sampler = threading.Thread(target=sample, daemon=True)
    runner = threading.Thread(target=lambda: run_jobs(sandbox, redis_url, 1, rows), daemon=True)
    runner.start()
    # Not `wait_for`: it opens the store, which the runner's thread may not have set up yet.
    deadline = time.monotonic() + 60
    while not read_statuses(client) and time.monotonic() < deadline:
        time.sleep(0.1)
    sampler.start()
    time.sleep(25)
    dropped = time.monotonic()
    sandbox.faults.update(throttle_rps=10)
    time.sleep(35)
    raised = time.monotonic()
    sandbox.faults.update(throttle_rps=40)
    time.sleep(40)
    stop.set()
    runner.join()
    down = next((t - dropped for t, r in samples if t > dropped and r <= 12.5), None)
    up = next((t - raised for t, r in samples if t > raised and r >= 32), None)
    return down, up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="ideal time of a throttled run")
    parser.add_argument("--rates", default="5,20,100", help="throttled rates, requests/s")
    parser.add_argument("--rows", type=int, default=2000, help="rows of a run not throttled")
    parser.add_argument("--follow-rows", type=int, default=3000)
    parser.add_argument("--skip", default="", help="parts to skip: throttled,free,follow")
    parser.add_argument("--free-rounds", type=int, default=1, help="of part 2, in turns")
    parser.add_argument("--spread", type=int, default=0, help="cold first jobs a rate (part 4)")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="added to requests")
    parser.add_argument(
        "--spikes", default="0:0", help="RATE:MS, that share of requests waits MS more (jitter)"
    )
    args = parser.parse_args()
    server = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-"))).start()
    spike_rate, spike_ms = (float(part) for part in args.spikes.split(":"))
    faults = FaultSettings(
        latency_ms=args.latency_ms,
        spike_rate=spike_rate,
        spike_ms=spike_ms,
        throttle_delay_ms=DELAY_MS,
        logons_per_min=60,
        cabinets_per_min=60,
    )
    sandbox = SandboxServer(SandboxConfig(port=0, documents=6000, faults=faults))
    sandbox.start()
    print(f"a throttled request answered 429 after {DELAY_MS / 1000:g} s, "
          f"{args.latency_ms:g} ms latency, "
          f"{spike_rate:.0%} of requests {spike_ms:g} ms more")  # fmt: skip
    try:
        for rps in [float(r) for r in args.rates.split(",")] * ("throttled" not in args.skip):
            sandbox.faults.update(throttle_rps=rps)
            total = max(400, round(rps * args.seconds / 1.05))  # ~1.05 requests a row
            for jobs in (1, 4):
                on = run_jobs(sandbox, server.url, jobs, total // jobs)
                print(throttled_line(f"{rps:g}/s, {jobs} process", on, rps), flush=True)
                again = run_jobs(sandbox, server.url, jobs, total // jobs, cold=False)
                print(throttled_line("  the next job", again, rps), flush=True)
        sandbox.faults.update(throttle_rps=0)
        for jobs in (1, 4) * ("free" not in args.skip):
            print(f"not throttled, {jobs} process(es), {args.rows} rows:", flush=True)
            rounds = []
            for _ in range(args.free_rounds):  # in turns: the VM's speed drifts within a minute
                on = run_jobs(sandbox, server.url, jobs, args.rows // jobs)
                learned = run_jobs(sandbox, server.url, jobs, args.rows // jobs, cold=False)
                off = run_jobs(sandbox, server.url, jobs, args.rows // jobs, OFF)
                rounds.append((on, off, learned))
                print("\n".join(free_lines(on, off, learned)), flush=True)
            if len(rounds) > 1:
                print(free_medians(rounds), flush=True)
        for rps in [float(r) for r in args.rates.split(",")] * bool(args.spread):
            print(spread_line(sandbox, server.url, rps, args.spread), flush=True)
        if "follow" not in args.skip:
            down, up = follow(sandbox, server.url, args.follow_rows)
            print(f"limit 40 → 10/s: rate ≤ 12.5/s after {seconds(down)}; "
                  f"10 → 40/s: ≥ 32/s after {seconds(up)}")  # fmt: skip
    finally:
        sandbox.stop()
        server.stop()


if __name__ == "__main__":
    main()
