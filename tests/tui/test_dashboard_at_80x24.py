"""Problems found by using the dashboard as an office user and an operator would, at 80×24."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import peewee
from textual.color import Color
from textual.widgets import TabbedContent

from exmado_tui.job.status import JobStatus
from exmado_tui.store.models import Job
from exmado_tui.store.queries import job_files, job_rows
from exmado_tui.ui.keys import INTRO, HelpScreen
from exmado_tui.ui.logic import dropfolder_view
from exmado_tui.ui.logic.dropfolder_view import scan_dropfolder
from exmado_tui.ui.modals import ConfirmModal, DeleteJobModal, FailJobModal
from exmado_tui.ui.screens import dropfolder as dropfolder_screen
from exmado_tui.ui.screens.dropfolder import DropFolderScreen
from exmado_tui.ui.screens.jobs import JobsScreen
from exmado_tui.ui.screens.new_job import NewJobScreen
from exmado_tui.ui.screens.workers import WorkersScreen
from exmado_tui.ui.widgets.indicators import StoreTrouble
from tests.tui.pilot_steps import (
    SIZE,
    bottom_line,
    dialog_drawn,
    jobs_screen,
    lines_shown,
    loaded,
    open_detail,
    open_screen,
    put_cursor_on,
    screen_text,
    settled,
    steady,
    wait_for,
    words_shown,
)
from tests.tui.seed import job_id, seed_events, seed_files, seed_rows

RUNNING = job_id(0)


async def test_number_keys_switch_the_detail_tabs_from_the_rows_table(app_factory, seeded):
    """The rows table has the focus when the detail opens; 1–5 must still switch tabs (they
    used to flip back to Rows at once, because the focus stayed in the Rows pane)."""
    seed_rows(RUNNING, 10, done=5)
    seed_files(RUNNING, 3)
    seed_events(RUNNING, ["Created."])
    async with app_factory().run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        tabs = detail.query_one(TabbedContent)
        await wait_for(pilot, lambda: detail.rows_table.has_focus)
        for key, pane in (("3", "events"), ("2", "files"), ("4", "config"), ("5", "report")):
            await pilot.press(key)
            await steady(pilot, lambda p=pane: tabs.active == f"{p}-tab")
        await pilot.press("1")
        await steady(pilot, lambda: tabs.active == "rows-tab")
        await pilot.press("3", "t")  # the row filter brings the Rows tab back
        await steady(pilot, lambda: tabs.active == "rows-tab")
        assert detail.row_filter == "done"


def listed_status(app, wanted: str) -> JobStatus | None:
    """The job's status as the jobs list last read it (its actions go by that)."""
    return next((job.status for job in jobs_screen(app).jobs if job.id == wanted), None)


def dialog_text(app) -> str:
    """What the terminal shows inside the open dialog's frame, as one line of words."""
    return words_shown(app, app.screen.query_one(".dialog").region.shrink((0, 1, 0, 1)))


async def test_a_long_confirmation_question_wraps_instead_of_being_cut(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pilot.app.screen.is_current)
        await pilot.press("w", "P")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal))
        await wait_for(pilot, lambda: dialog_drawn(pilot.app))
        shown = dialog_text(pilot.app)
        assert "Queued messages are dropped; the jobs stay in the store and can be started" in (
            shown
        ), shown
        await pilot.press("n")


async def test_the_fail_question_and_the_delete_folders_are_readable(app_factory, seeded):
    long_output = "/srv/exports/finance/accounts-payable/2025/march/invoices-march-final"
    Job.update(output_dir=long_output).where(Job.id == RUNNING).execute()
    async with app_factory().run_test(size=SIZE) as pilot:
        await put_cursor_on(pilot, RUNNING)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FailJobModal))
        await wait_for(pilot, lambda: dialog_drawn(pilot.app))
        assert "as FAILED? A worker will not touch it again." in dialog_text(pilot.app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        Job.update(status="COMPLETED").where(Job.id == RUNNING).execute()
        await wait_for(pilot, lambda: listed_status(pilot.app, RUNNING) is JobStatus.COMPLETED)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteJobModal))
        await wait_for(pilot, lambda: dialog_drawn(pilot.app))
        assert long_output in dialog_text(pilot.app).replace(" ", "")
        await pilot.press("n")


async def test_the_jobs_footer_shows_help_and_quit_at_80_columns(app_factory, seeded):
    async with app_factory().run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: bottom_line(pilot.app).strip())  # a busy machine: drawn late
        footer = bottom_line(pilot.app)
        assert "? Help" in footer and "q Quit" in footer, footer
    async with app_factory().run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: bottom_line(pilot.app).strip())
        assert "^p palette" in bottom_line(pilot.app)


async def test_a_dropped_file_moved_away_during_the_scan_does_not_crash(
    app_factory, store, seeded, monkeypatch
):
    """The watcher archives a settled workbook at any moment; a scan that listed it just before
    must skip it, not end the dashboard with FileNotFoundError."""
    drop = store.dropfolder.path
    (drop / "invoices").mkdir(parents=True)
    (drop / "invoices" / "april.xlsx").write_bytes(b"PK")
    listed = dropfolder_view._workbooks

    def listing_with_a_ghost(folder):
        return [*listed(folder), folder / "archived-meanwhile.xlsx"]

    monkeypatch.setattr(dropfolder_view, "_workbooks", listing_with_a_ghost)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "f", DropFolderScreen)
        await wait_for(pilot, lambda: screen.waiting_table.row_count == 1)
        assert str(screen.waiting_table.get_row_at(0)[1]) == "april.xlsx"
        assert pilot.app.is_running


async def test_a_drop_folder_the_user_cannot_read_is_said_not_fatal(
    app_factory, store, seeded, monkeypatch
):
    """The drop folder belongs to the service account; an operator running `exmado` as
    themselves may not be allowed to list it."""

    def refused(settings, profile_dirs):
        raise PermissionError(13, "Permission denied", str(settings.path))

    monkeypatch.setattr(dropfolder_screen, "scan_dropfolder", refused)
    async with app_factory().run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "f", DropFolderScreen)
        await wait_for(pilot, lambda: "Permission denied" in str(screen.folder_label.render()))
        await wait_for(pilot, lambda: screen.jobs_table.row_count == 2)  # the jobs still show
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))


async def test_a_damaged_workbook_is_refused_in_the_form_not_fatal(app_factory, seeded, tmp_path):
    """A file named .xlsx that Excel never wrote (a renamed CSV, a download cut short)."""
    damaged = tmp_path / "march.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 200)  # a download cut short
    async with app_factory().run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewJobScreen))
        form = pilot.app.screen
        form.workbook_input.insert_text_at_cursor(str(damaged))  # as a paste would
        await wait_for(pilot, lambda: form.preview is not None)
        assert "march.xlsx" in form.preview.error
        await wait_for(pilot, lambda: "march.xlsx" in str(form.errors_label.render()))
        assert pilot.app.is_running


TICKING = ("read_detail", "finished_since")  # the reads the detail's and the app's timers make


class Outage:
    """The store refusing reads (all, or those of the query functions `only`) the way a locked
    SQLite does, beneath the backend, until `end()`; `refused` counts the refused reads by
    query function, so a test waits for the dashboard to have been refused, not for a time."""

    def __init__(self, app, *only) -> None:
        self.down = True
        self.refused: Counter[str] = Counter()
        read = app.backend.read

        def locked(*args, **kwargs):
            raise peewee.OperationalError("database is locked")

        async def flaky(fn, *args, **kwargs):
            store_read = fn is not scan_dropfolder  # that one reads the drop folder, not the store
            if self.down and (fn in only if only else store_read):
                self.refused[fn.__name__] += 1
                return await read(locked, *args, **kwargs)
            return await read(fn, *args, **kwargs)

        app.backend.read = flaky

    def refused_again(self, since: Counter[str], *names: str, times: int = 1) -> bool:
        """Each of these reads was refused `times` more since the count `since`: the timers
        that make them came round with the store still out of reach."""
        return all(self.refused[name] >= since[name] + times for name in names)

    def end(self) -> None:
        self.down = False


async def test_the_store_out_of_reach_for_a_while_is_shown_not_fatal(app_factory, seeded):
    """PostgreSQL restarting, or SQLite locked past its busy timeout: the dashboard says so
    and carries on when the store answers again."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, RUNNING)
        outage = Outage(app)
        # the detail and the finished-job watcher refused, and their timers came round again
        await wait_for(pilot, lambda: outage.refused_again(Counter(), *TICKING, times=2))
        await wait_for(pilot, lambda: "database is locked" in str(screen.summary.render()))
        assert app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        back = outage.refused.copy()
        await wait_for(pilot, lambda: outage.refused_again(back, "read_jobs_page"))
        await wait_for(pilot, lambda: "database is locked" in str(app.screen.status_line.render()))
        assert app.is_running
        for key, screen_type in (("w", WorkersScreen), ("f", DropFolderScreen)):
            await pilot.press(key)
            await wait_for(pilot, lambda t=screen_type: isinstance(app.screen, t))
            trouble = app.screen.query_one(StoreTrouble)
            await wait_for(pilot, lambda t=trouble: t.display)  # said, in red, at the top
            assert app.is_running and "database is locked" in str(trouble.render())
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        outage.end()
        await wait_for(pilot, lambda: "1–7 of 7" in str(app.screen.status_line.render()))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkersScreen))
        await wait_for(pilot, lambda: not app.screen.query_one(StoreTrouble).display)


async def test_paging_rows_while_the_store_is_out_of_reach_is_shown_not_fatal(app_factory, seeded):
    """The page of rows at the end, and the rows on screen read again, fail while the store is
    locked: the lines wait with …, the rows read before stay, the detail says why in red, and
    the page arrives once the store answers."""
    seed_rows(RUNNING, 1200, done=480)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, RUNNING)
        rows = detail.rows_table
        await wait_for(pilot, lambda: rows.has_focus and rows.current is not None)
        outage = Outage(app, job_rows)  # the job and the row count still read
        await pilot.press("end")  # the last page is asked for, and the rows on screen are
        await wait_for(pilot, lambda: outage.refused["job_rows"] >= 3)  # read again, twice
        await settled(pilot)
        assert app.is_running
        assert rows.cursor_row == 1199 and rows.current is None
        assert "…" in screen_text(app)
        await wait_for(pilot, lambda: "database is locked" in str(detail.summary.render()))
        shown = str(detail.summary.render())
        assert "Cannot read the job store" in shown and "480/1200 rows" in shown, shown
        await pilot.press("home")  # the first page was read before: it still shows
        assert rows.current is not None and rows.current.row_number == 2
        await pilot.press("end")
        outage.end()
        await wait_for(pilot, lambda: rows.current is not None)  # the next refresh reads it
        assert rows.current.row_number == 1201
        await wait_for(pilot, lambda: "database is locked" not in str(detail.summary.render()))
        assert app.is_running


async def test_tables_the_store_could_not_fill_on_opening_fill_once_it_answers(app_factory, seeded):
    """The first page of rows and of files fails as the detail opens: the tables stay empty
    with the reason above them, and fill by themselves once the store answers."""
    seed_rows(RUNNING, 30, done=12)
    seed_files(RUNNING, 5)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        outage = Outage(app, job_rows, job_files)
        detail = await open_detail(pilot, RUNNING)
        await wait_for(pilot, lambda: "database is locked" in str(detail.summary.render()))
        said = outage.refused.copy()  # and the refresh after that is refused too
        await wait_for(pilot, lambda: outage.refused_again(said, "job_rows", "job_files"))
        await settled(pilot)
        assert app.is_running
        assert detail.rows_table.item_at(0) is None and detail.files_table.item_at(0) is None
        outage.end()
        await wait_for(pilot, lambda: detail.rows_table.item_at(29) is not None)
        await wait_for(pilot, lambda: detail.files_table.item_at(4) is not None)
        await wait_for(pilot, lambda: "database is locked" not in str(detail.summary.render()))


ERROR = (
    "DocuWare refused the search in cabinet Invoices: the field INVOICE_NUMBER does not exist "
    "in this file cabinet; check the profile's columns against the cabinet's fields."
)


async def test_a_jobs_error_shows_whole_in_its_summary(app_factory, seeded):
    """It used to be cut to its first line; a longer one shows its first three and where the
    rest is."""
    failed = job_id(5)
    async with app_factory().run_test(size=SIZE) as pilot:
        for error, shown in ((ERROR, ERROR), (ERROR * 3, "… whole in the Events tab (3)")):
            Job.update(last_error=error).where(Job.id == failed).execute()
            detail = await open_detail(pilot, failed)
            summary = detail.summary
            await wait_for(
                pilot, lambda s=summary: "INVOICE_NUMBER" in words_shown(pilot.app, s.region)
            )
            assert shown in words_shown(pilot.app, summary.region)
            await pilot.press("escape")


def deep_output_folder(tmp_path: Path) -> Path:
    """The running job's output folder, set to a path wider than a line at 80 columns."""
    out = tmp_path / "exports" / "finance-department" / "accounts-payable" / "2025" / "march-run"
    Job.update(output_dir=str(out)).where(Job.id == RUNNING).execute()
    return out


async def tab_showing(pilot, tab: str, widget: str, text: str):
    """The running job's tab `tab` (its key), once its `widget` shows `text`."""
    detail = await open_detail(pilot, RUNNING)
    await pilot.press(tab)
    shown = detail.query_one(widget)
    await wait_for(pilot, lambda: text in words_shown(pilot.app, shown.region))
    return shown


async def test_the_report_tab_folds_paths_after_a_slash(app_factory, seeded, tmp_path):
    """Wrapped as words, a path broke anywhere ("accounts-paya" / "ble/2025/…")."""
    out = deep_output_folder(tmp_path)
    out.mkdir(parents=True)
    for name in ("exmado-manifest.json", "exmado-report.xlsx"):
        (out / name).write_text("")
    async with app_factory().run_test(size=SIZE) as pilot:
        report = await tab_showing(pilot, "5", "#report", "exmado-report.xlsx")
        lines = [line.strip() for line in lines_shown(pilot.app, report.region) if line.strip()]
        assert "".join(lines) == f"{out}/exmado-manifest.json{out}/exmado-report.xlsx", lines
        assert all(line.endswith(("/", ".json", ".xlsx")) for line in lines), lines


async def test_the_config_tab_folds_paths_after_a_slash(app_factory, seeded, tmp_path):
    """A long Output path was cut with "…" at the column's end."""
    out = deep_output_folder(tmp_path)
    async with app_factory().run_test(size=SIZE) as pilot:
        config = await tab_showing(pilot, "4", "#config", "march-run")
        lines = lines_shown(pilot.app, config.region)
        at = next(n for n, line in enumerate(lines) if line.lstrip().startswith("Output"))
        values = [line.strip().removeprefix("Output").strip() for line in lines[at:]]
        end = next(n for n, line in enumerate(values) if line.endswith("march-run"))
        assert "".join(values[: end + 1]) == str(out), lines[at:]
        assert all(line.endswith("/") for line in values[:end]), values


async def test_help_scrolls_its_introduction_away_with_the_keys(app_factory, seeded):
    """The introduction and the status filters stood fixed above the key list, seven of its
    24 lines; now they read whole at the top and scroll away with it."""
    async with app_factory().run_test(size=SIZE) as pilot:
        await open_screen(pilot, "question_mark", HelpScreen)
        await wait_for(pilot, lambda: INTRO in " ".join(screen_text(pilot.app).split()))
        await pilot.press("end")
        await settled(pilot)
        shown = screen_text(pilot.app)
        assert "Éxmado exports" not in shown and "Status filters" not in shown, shown
        assert "Delete files too" in shown, shown


async def test_help_keeps_each_status_filters_key_with_its_label(app_factory, seeded):
    """The line wrapped at any space: "7" ended one line and "Errors" began the next."""
    async with app_factory().run_test(size=SIZE) as pilot:
        await open_screen(pilot, "question_mark", HelpScreen)
        await wait_for(pilot, lambda: "Status filters" in screen_text(pilot.app))
        lines = screen_text(pilot.app).splitlines()
        at = next(n for n, line in enumerate(lines) if "Status filters" in line)
        shown = [[w for w in line.split() if w.isalnum()] for line in lines[at : at + 2]]
        assert all(not word.isdigit() for words in shown for word in words[-1:]), shown
        assert " ".join(" ".join(words) for words in shown).endswith("9 Cancelled"), shown


def contrast(one: Color, other: Color) -> float:
    """WCAG's contrast ratio of two colours, 1 (the same) to 21 (black on white)."""

    def luminance(color: Color) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in color.normalized
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


async def test_the_jobs_lists_sideways_scrollbar_reads_as_a_bar(app_factory, seeded):
    """At 80 columns the columns after Found·Miss·Fail are a scroll away, and the scrollbar's
    thumb ends in a partial block (`▊`). Drawn at 1.5:1 against its track, the bar did not
    show and that block read as a stray character; a control needs 3:1 (WCAG 1.4.11)."""
    async with app_factory().run_test(size=SIZE) as pilot:
        table = (await loaded(pilot)).table
        await wait_for(pilot, lambda: table.show_horizontal_scrollbar)
        bar_row = table.region.bottom - 1
        (end,) = [s for s in pilot.app.screen._compositor.render_strips()[bar_row] if "▊" in s.text]
        thumb, track = (
            Color.from_rich_color(end.style.color),
            Color.from_rich_color(end.style.bgcolor),
        )
        assert contrast(thumb, track) >= 3, (thumb.hex, track.hex)
