"""`DropFolderScreen`: the watched folder, files waiting in it, the jobs it made, the files it
refused and why."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from exmado_tui.errors import StoreUnavailableError
from exmado_tui.formatting import local_time, size, visible
from exmado_tui.store.queries import JobSummary, jobs_by_source
from exmado_tui.ui.app import exmado_app, on_view
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.logic.dropfolder_view import DropFolderView, DroppedFile, scan_dropfolder
from exmado_tui.ui.modals import RefusalModal
from exmado_tui.ui.widgets.indicators import HealthStrip, StoreTrouble, status_text
from exmado_tui.ui.widgets.tables import PlainTable

REFRESH_S = 3.0


class DropFolderScreen(Screen[None]):
    """Refreshes every few seconds; enter on a job opens it, on a refused file shows why."""

    refused: dict[str, tuple[Path, DroppedFile]] = {}  # each load sets the screen's own

    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        Binding("g", "reload", "Reload"),
    ]

    @property
    def folder_label(self) -> Static:
        return self.query_one("#drop-folder", Static)

    @property
    def jobs_table(self) -> PlainTable:
        return self.query_one("#drop-jobs", PlainTable)

    @property
    def rejected_table(self) -> PlainTable:
        return self.query_one("#drop-rejected", PlainTable)

    @property
    def waiting_table(self) -> PlainTable:
        return self.query_one("#drop-waiting", PlainTable)

    def compose(self) -> ComposeResult:
        yield HealthStrip()
        yield Static("Drop folder", classes="screen-title")
        yield StoreTrouble()
        with VerticalScroll():
            yield Static(id="drop-folder", markup=False)
            yield Label("Jobs it made", classes="section")
            yield PlainTable(id="drop-jobs", cursor_type="row")
            yield Label("Refused (enter shows why, whole)", classes="section")
            yield PlainTable(id="drop-rejected", cursor_type="row")
            yield Label("Waiting to settle", classes="section")
            yield PlainTable(id="drop-waiting", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.jobs_table.add_columns("ID", "Workbook", "Status", "Rows", "Created")
        self.rejected_table.add_columns("File", "When", "Why")
        self.waiting_table.add_columns("Profile", "File", "Size", "Since")
        self.set_interval(REFRESH_S, self.action_reload)
        self.action_reload()

    def action_reload(self) -> None:
        if on_view(self):
            self.run_worker(self._load(), group="dropfolder", exclusive=True)

    async def _load(self) -> None:
        backend = exmado_app(self).backend
        settings = exmado_app(self).settings
        try:
            view: DropFolderView | OSError = await backend.read(
                scan_dropfolder, settings.dropfolder, settings.profile_dirs
            )
        except OSError as exc:  # not ours to read (the service account's), say so
            view = exc
        try:
            jobs = await backend.read(jobs_by_source, "dropfolder")
        except StoreUnavailableError as exc:  # locked, or the server restarting: next tick
            if on_view(self):
                self.query_one(StoreTrouble).show(exc)
            return
        if not on_view(self):  # left (or covered) while reading: its widgets may be gone
            return
        self.query_one(StoreTrouble).show(None)
        self._show(view, jobs)

    def _show(self, view: DropFolderView | OSError, jobs: list[JobSummary]) -> None:
        """The folder's jobs and files; a file's name and reason with control characters visible."""
        zone = exmado_app(self).settings.zone
        if isinstance(view, OSError):
            where = exmado_app(self).settings.dropfolder.path
            self.folder_label.update(Text(f"Cannot read {where}: {view.strerror or view}", "red"))
            view = DropFolderView(where, True, (), (), ())
        elif not view.exists:
            self.folder_label.update(
                Text(f"{view.root} does not exist yet; `exmado watch` creates it.", "yellow")
            )
        else:
            profiles = ", ".join(view.profiles) or "none"
            self.folder_label.update(f"{view.root}\nProfile folders: {profiles}")
        self.jobs_table.clear()
        for job in jobs:
            self.jobs_table.add_row(
                job.short_id,
                visible(job.workbook_name),
                status_text(job.status, job.control),
                f"{job.done_rows}/{job.total_rows}",
                local_time(job.created_at, zone),
                key=job.id,
            )
        self.rejected_table.clear()
        self.refused = {f.name: (view.root / f.folder / f.name, f) for f in view.rejected}
        for f in view.rejected:
            why = Text(
                visible(f.reason) or "(no reason recorded)", style="red" if f.reason else "dim"
            )
            self.rejected_table.add_row(
                visible(f.name), local_time(f.modified, zone), why, key=f.name
            )
        self.waiting_table.clear()
        for f in view.waiting:
            self.waiting_table.add_row(
                f.folder, visible(f.name), size(f.size), local_time(f.modified, zone)
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value or "")
        if event.data_table.id == "drop-jobs" and key:
            from exmado_tui.ui.screens.detail import JobDetailScreen

            self.app.push_screen(JobDetailScreen(key))
        elif event.data_table.id == "drop-rejected" and key in self.refused:
            path, refused = self.refused[key]
            when = local_time(refused.modified, exmado_app(self).settings.zone)
            self.app.push_screen(RefusalModal(path, when, refused.reason))

    def action_back(self) -> None:
        self.dismiss(None)
