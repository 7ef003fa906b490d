"""Benchmark of the report of a 100,000-row job: seconds and peak memory (prints, asserts none).

    .venv/bin/python -m tests.benchmarks.bench_report [--rows 100000] [--before ../main]

A SQLite store in a temporary folder gets one job of `--rows` rows, as a finished job leaves
them: each row with its workbook values (the key and three other columns, "Requested by" among
them), nine in ten found with one file each, the rest not found. Then `write_report` runs in a
fresh process, which prints its seconds and its peak memory (max RSS); with `--before`, the
same store's report is written first by another checkout (the code before a change).

Measured on the 2-core development VM, both in one run (2026-12-04 16:20, the VM shared with
other sessions, load ~6), 100,000 rows, `--before` the checkout before this benchmark came:

    before : 47.7 s (22.2 s of CPU), peak RSS 265 MB (37 MB before)
    after  : 51.6 s (26.4 s of CPU), peak RSS  59 MB (37 MB before)

Before, the manifest was built whole in memory (a dict per file, then `json.dumps` with an
indent: 200 MB of the peak) and every file's path was held while the rows were written. After,
the rows' files are read with their chunk of rows and the manifest is written a line per file
as read, in path order (an index on the job's paths, migration 4); the CPU added is the report's
new content: the workbook's other columns (a first pass over the rows' values finds them), a
link per found row, widths, a frozen header and a filter. A link made as a cell hyperlink
(openpyxl keeps every one until the sheet is saved) cost 127 MB more for 100,000 rows in a
trial; as a HYPERLINK formula it costs nothing.

The Documents sheet (issue 22.2: each file's index fields from `job_file.index_data`; the
seed gives every file six fields and every third a seventh of its own), measured the same
way on 2026-12-05 (load 8-11), `--before` the checkout before the sheet:

    before : 27.1 s (11.8 s of CPU), peak RSS 61 MB (39 MB before)
    after  : 91.9 s (36.0 s of CPU), peak RSS 62 MB (40 MB before)
    --tracemalloc, Python's own peak: 19.0 MB before, 23.3 MB after (RSS 97 / 102 MB)

The memory stays that of a chunk; the CPU added is the sheet's 90,000 lines of 16 cells,
most of it openpyxl writing cells (a date's format included). Its files were first read a
page at a time ordered by row number across the join, which SQLite sorted again for every
page (61.6 s of CPU); now a chunk of rows, then their files by the index on a file's row.

Full speed at the defaults (issue 18), both in one run on 2026-12-05 13:20 (load ~1),
`--before` the checkout before it:

    20,000 rows, before : 12.1 s (12.1 s of CPU), peak RSS 55 MB (40 MB before)
                 after  :  4.9 s ( 4.8 s of CPU), peak RSS 49 MB (41 MB before)
    100,000 rows, before: 60.6 s (60.3 s of CPU), peak RSS 63 MB (40 MB before)
                  after : 24.7 s (24.5 s of CPU), peak RSS 50 MB (41 MB before)

Before, openpyxl made every value a cell and et_xmlfile serialized each cell as an element:
60 % of the CPU. Now the sheets are `LineSheet`s (output/sheet_lines.py), which write a
line as one text, openpyxl's own bytes (the report's parts are the same before and after).
The rest: a chunk's files asked for with its rows as a subquery, not a list of 2,000 ids;
the first pass over the files reads their index fields only, a text field not read back;
and rows read with peewee's iterator(), whose chunks are not also kept in the query's cache
until the collector frees it (the lower peak).

Less CPU at a job's end (issue 18), both in one run each on 2026-12-07 05:51 UTC (load
average 0.5-0.8, the VM shared), `--before` the checkout before it (seconds now printed to
two places, which a 2,000-row report needs):

     2,000 rows, before: 0.22 s (0.22 s of CPU), peak RSS 46 MB (41 MB before)
                 after : 0.16 s (0.16 s of CPU), peak RSS 46 MB (41 MB before)
    20,000 rows, before: 2.15 s (2.14 s of CPU), peak RSS 49 MB (41 MB before)
                 after : 1.53 s (1.52 s of CPU), peak RSS 48 MB (41 MB before)

py-spy and yappi showed no one thing: of 2,000 rows' 0.21 s of CPU, the Documents sheet
0.12 s (its first pass over the fields 0.02 s, a date's openpyxl cell 0.025 s), the Rows
sheet 0.05 s, the zip's deflate 0.02 s and the manifest 0.02 s; the rest a cell at a time.
Now a date is a `Dated` whose number format's style is looked up once (sheet_lines.py); a
line's column letters once per sheet, text escaped without saxutils' call and printable text
neither through `visible`'s regex nor openpyxl's control-character one; a field a document
lacks is no cell at once; a link's path is split, not made a PurePosixPath; the manifest
asks whether there are sidecars once and reads a file's index data only if there are. The
report's parts are the same bytes (tests/integration/test_report_bytes.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JOB = "bench-report"

SEED = """
import json, sys
from exmado_tui.store.db import open_database
from exmado_tui.store.models import Job, JobFile, JobRow
url, job, out, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
open_database(url)
Job.create(id=job, name="bench", status="COMPLETED_WITH_ERRORS",
           config={"columns": {"Invoice": "INVOICE_NO"}}, workbook_name="w.xlsx",
           workbook_path="w.xlsx", workbook_sha256="0" * 64, output_dir=out,
           total_rows=rows, done_rows=rows)
for start in range(0, rows, 5000):
    batch = []
    for n in range(start, min(start + 5000, rows)):
        key, found = f"INV-{n:07d}", n % 10
        values = {"Invoice": key, "Requested by": f"clerk {n % 40}",
                  "Department": f"Dept {n % 7}", "Note": "urgent" * (n % 2)}
        batch.append({"job": job, "row_number": n + 2, "key": key, "values": values,
                      "status": "done" if found else "not_found", "documents": int(bool(found)),
                      "error": "" if found else f"No document matches INVOICE_NO={key}."})
    JobRow.insert_many(batch).execute()
ids = JobRow.select(JobRow.id, JobRow.key).where(JobRow.documents == 1).tuples()
def index_data(i, key):
    fields = {"INVOICE_NO": key, "SUPPLIER": f"Supplier {i % 50}",
              "DOC_DATE": ["Date", f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"],
              "AMOUNT": ["Decimal", f"{i % 9973}.{i % 100:02d}"], "TAGS": ["Keywords", ["a", "b"]],
              "DWSTOREDATETIME": ["DateTime", "2024-03-01T10:00:00+01:00"]}
    if i % 3 == 0:  # another kind of document: a field of its own
        fields["CONTRACT_NO"] = f"C-{i}"
    return json.dumps({"content_type": "application/pdf", "sections": 1, "fields": fields})
batch = [{"job": job, "row": i, "document_id": str(i), "cabinet_id": "c",
          "path": f"Supplier {i % 50}/2024/{k}.pdf", "size": 1, "sha256": "ab" * 32,
          "index_data": index_data(i, k)}
         for i, k in ids]
for start in range(0, len(batch), 5000):
    JobFile.insert_many(batch[start:start + 5000]).execute()
"""

WRITE = """
import inspect, resource, sys, time, tracemalloc
from zoneinfo import ZoneInfo
from exmado_tui.store.db import open_database
from exmado_tui.output.report import write_report
open_database(sys.argv[1])
zoned = "zone" in inspect.signature(write_report).parameters  # a checkout from before it
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
traced = "--tracemalloc" in sys.argv
if traced:
    tracemalloc.start()
start, start_cpu = time.perf_counter(), cpu()
write_report(sys.argv[2], *([ZoneInfo("UTC")] if zoned else []))
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
said = f"{seconds:.2f} s ({cpu_seconds:.2f} s of CPU), peak RSS {peak} MB ({before} MB before)"
if traced:
    said += f", Python's peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB (tracemalloc)"
print(said)
"""


def run(code: str, *args: str, checkout: Path = REPO) -> str:
    """`code` in a fresh interpreter, importing Éxmado from `checkout`."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--before", type=Path, help="a checkout to measure first, in this run")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also Python's own peak (slower: traced)"
    )
    args = parser.parse_args()
    traced = ["--tracemalloc"] if args.tracemalloc else []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/exmado.db"
        run(SEED, url, JOB, f"{tmp}/out", str(args.rows))
        if args.before:
            print(f"before ({args.before}): {run(WRITE, url, JOB, *traced, checkout=args.before)}")
        print(f"report of {args.rows:,} rows: {run(WRITE, url, JOB, *traced)}")


if __name__ == "__main__":
    main()
