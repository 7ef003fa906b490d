"""`NewJobScreen`: a workbook, its sheet and first rows, a profile or a column → field mapping
fetched live from DocuWare, the first row's target path, output and format; then create."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Input,
    Label,
    LoadingIndicator,
    Select,
    Static,
)

from exmado_tui.config.profiles import FORMATS, Profile, load_profile, profile_names, save_profile
from exmado_tui.errors import ExmadoError, ProfileError
from exmado_tui.job.new_job import JobRequest
from exmado_tui.ui.app import exmado_app, mutating
from exmado_tui.ui.backend import DocuWareLookup
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.logic.job_forms import (
    CUSTOM,
    NO_FILENAME,
    NO_FOLDERS,
    JobForm,
    WorkbookPreview,
    preview_widths,
    profile_from_form,
    read_preview,
    shown_for,
    target_preview,
    validate,
)
from exmado_tui.ui.modals import FilePickerModal, PromptModal
from exmado_tui.ui.screens.job_form import FieldRow, FormInput, JobFormScreen, plain_options
from exmado_tui.ui.widgets.tables import PlainTable


def profile_options(folders: Sequence[Path]) -> list[tuple[str, str]]:
    """The profile select's options: every profile by name, then mapping columns by hand."""
    return [*((name, name) for name in profile_names(folders)), (CUSTOM, CUSTOM)]


class NewJobScreen(JobFormScreen):
    """A form; every field is checked as you type, and Create stays refused until it is whole.
    Choosing a profile fills the fields it sets; the job is stored as the form shows it.
    Dismisses with the new job's id."""

    BUTTON_ACTIONS = {
        "browse": "browse",
        "create": "create(False)",
        "create-start": "create(True)",
        "save-profile": "save_profile",
        "cancel": "back",
    }
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+o", "browse", "Browse"),
        Binding("ctrl+f", "from_search", "From a search"),
        Binding("ctrl+s", "create(False)", "Create"),
        Binding("ctrl+e", "create(True)", "Create and start"),  # FormInput leaves it to us
    ]

    def __init__(self) -> None:
        super().__init__()
        self.preview: WorkbookPreview | None = None
        self.profile: Profile | None = None
        self.lookup: DocuWareLookup | None = None

    # -- children ---------------------------------------------------------------------------

    @property
    def workbook_input(self) -> Input:
        return self.query_one("#workbook", Input)

    @property
    def sheet_select(self) -> Select[str]:
        return self.query_one("#sheet", Select)

    @property
    def profile_select(self) -> Select[str]:
        return self.query_one("#profile", Select)

    @property
    def preview_table(self) -> PlainTable:
        return self.query_one("#preview", PlainTable)

    @property
    def errors_label(self) -> Static:
        return self.query_one("#form-errors", Static)

    @property
    def target_label(self) -> Static:
        return self.query_one("#target", Static)

    def compose(self) -> ComposeResult:
        yield Static("New job", classes="screen-title")
        with VerticalScroll(id="form"):
            yield FieldRow(
                "Workbook",
                FormInput(placeholder="path to .xlsx, .xlsm or .csv", id="workbook", compact=True),
                Button("Browse… (^o)", id="browse", compact=True),
            )
            yield FieldRow("Sheet", Select([], prompt="(first sheet)", id="sheet", compact=True))
            yield PlainTable(id="preview", show_cursor=False, zebra_stripes=True)
            profiles = profile_options(exmado_app(self).settings.profile_dirs)
            yield FieldRow(
                "Profile", Select(profiles, prompt="pick one", id="profile", compact=True)
            )
            with Vertical(id="custom"):
                yield FieldRow("Cabinet", Select([], id="cabinet", compact=True))
                yield FieldRow(
                    "Dialog",
                    Select([], id="dialog", compact=True, prompt="(the cabinet's default)"),
                )
                yield FieldRow(
                    "Key column",
                    Select([], id="key-column", compact=True),
                    Label(" → "),
                    Select([], id="dw-field", compact=True, prompt="DocuWare field"),
                )
                yield LoadingIndicator(id="dw-loading")
                yield Static(id="dw-message", markup=False)
            yield FieldRow(
                "Folders", FormInput(placeholder=NO_FOLDERS, id="folder-template", compact=True)
            )
            yield FieldRow(
                "File name",
                FormInput(placeholder=NO_FILENAME, id="filename-template", compact=True),
            )
            yield FieldRow("First file", Static(id="target", markup=False))
            yield FieldRow(
                "Name", FormInput(placeholder="(the workbook's name)", id="name", compact=True)
            )
            yield FieldRow(
                "Output",
                FormInput(
                    placeholder=str(exmado_app(self).settings.jobs.output_root) + "/…",
                    id="output",
                    compact=True,
                ),
            )
            yield FieldRow(
                "Format",
                Select(
                    [(f, f) for f in FORMATS],
                    value="original",
                    id="format",
                    compact=True,
                    allow_blank=False,
                ),
            )
            yield Static(id="form-errors", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Create (^s)", id="create", variant="primary", compact=True)
                yield Button(
                    "Create and start (^e)", id="create-start", variant="success", compact=True
                )
                yield Button("Save as profile", id="save-profile", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#custom").display = False
        self.workbook_input.focus()
        self._check()

    def on_unmount(self) -> None:
        if self.lookup is not None:
            exmado_app(self).backend.probe_nowait(self.lookup.close)

    # -- the form ---------------------------------------------------------------------------

    def _field(self, selector: str) -> Input | Select[Any]:
        """A field of the form: a text field or a select."""
        widget = self.query_one(selector)
        if not isinstance(widget, (Input, Select)):
            raise TypeError(f"{selector} is a {type(widget).__name__}, not a form field")
        return widget

    def form(self) -> JobForm:
        def value(selector: str) -> str:
            raw = self._field(selector).value
            return "" if raw is Select.NULL or raw is None else str(raw)

        return JobForm(
            workbook=self.workbook_input.value.strip(),
            sheet=value("#sheet"),
            profile=value("#profile"),
            cabinet=value("#cabinet"),
            dialog=value("#dialog"),
            key_column=value("#key-column"),
            dw_field=value("#dw-field"),
            folder_template=value("#folder-template"),
            filename_template=value("#filename-template"),
            name=value("#name").strip(),
            output=value("#output").strip(),
            format=value("#format") or "original",
        )

    def _check(self) -> dict[str, str]:
        """Validate and show every problem under the form; show the first row's target."""
        form = self.form()
        errors = validate(form, self.preview)
        self.errors_label.update("\n".join(f"• {e}" for e in errors.values()))
        self.errors_label.set_class(bool(errors), "-has-errors")
        first = self.preview.rows[0] if self.preview and self.preview.rows else None
        self.target_label.update(target_preview(self.profile, form, first) or "-")
        return errors

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "workbook":
            self._load_preview()
        else:
            self._check()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        handlers = {
            "sheet": self._load_preview,
            "profile": self._profile_changed,
            "cabinet": self._cabinet_changed,
            "dialog": self._dialog_changed,
        }
        handlers.get(str(event.select.id), self._check)()

    def _load_preview(self) -> None:
        path = Path(self.workbook_input.value.strip()).expanduser()
        columns = tuple(self.profile.columns) if self.profile else ()
        self.run_worker(
            self._preview(path, self._sheet(), columns), group="preview", exclusive=True
        )

    def _sheet(self) -> str:
        """The sheet to show: the one picked, else the one the profile names."""
        return self.form().sheet or (self.profile.sheet if self.profile else "")

    async def _preview(self, path: Path, sheet: str, columns: tuple[str, ...]) -> None:
        if not str(path).strip() or str(path) == ".":
            self.preview = None
        else:
            self.preview = await exmado_app(self).backend.read(read_preview, path, sheet, columns)
        self._show_preview()
        self._check()

    def _show_preview(self) -> None:
        table = self.preview_table
        table.clear(columns=True)
        preview = self.preview
        if preview is None or preview.error:
            return
        for header, width in zip(preview.headers, preview_widths(preview), strict=True):
            table.add_column(header or "·", width=width)
        for row in preview.rows:
            table.add_row(*(row.values.get(h, "") for h in preview.headers))
        self._show_sheets(preview)
        headers = [(h, h) for h in preview.headers if h]
        self.query_one("#key-column", Select).set_options(plain_options(headers))

    def _show_sheets(self, preview: WorkbookPreview) -> None:
        select = self.sheet_select
        with select.prevent(Select.Changed):
            if list(preview.sheets) != getattr(select, "_options_values", []):
                select.set_options(plain_options((s, s) for s in preview.sheets))
                select._options_values = list(preview.sheets)  # type: ignore[attr-defined]
            if preview.sheet in preview.sheets and select.value != preview.sheet:
                select.value = preview.sheet

    def _profile_changed(self) -> None:
        name = self.form().profile
        custom = name == CUSTOM
        self.query_one("#custom").display = custom
        self.profile = None
        if name and not custom:
            try:
                self.profile = load_profile(exmado_app(self).settings.profile_dirs, name)
            except ExmadoError as exc:
                self.app.notify(str(exc), severity="error")
        if name:
            self._show_profile_fields()
        if custom:
            self._load_cabinets()
        self._load_preview()

    def _show_profile_fields(self) -> None:
        """Every field the profile sets starts from it (blank ones for a hand-made mapping)."""
        for widget_id, value in shown_for(self.profile).items():
            self._field(f"#{widget_id}").value = value

    # -- DocuWare -----------------------------------------------------------------------------

    def _dw_busy(self, busy: bool, message: str = "") -> None:
        self.query_one("#dw-loading").display = busy
        self.query_one("#dw-message", Static).update(message)

    def _load_cabinets(self) -> None:
        if self.lookup is None:
            self.lookup = DocuWareLookup(exmado_app(self).settings.docuware)
        self._ask("cabinets", "#cabinet")

    def _cabinet_changed(self) -> None:
        """Its dialogs, and at once the fields of its default dialog."""
        cabinet = self.form().cabinet
        if cabinet:
            self._ask("dialogs", "#dialog", cabinet)
            self._ask("fields", "#dw-field", cabinet, "")
        self._check()

    def _dialog_changed(self) -> None:
        form = self.form()
        if form.cabinet:
            self._ask("fields", "#dw-field", form.cabinet, form.dialog)
        self._check()

    def _ask(self, what: str, target: str, *args: str) -> None:
        """A newer question for the same list replaces the one still under way."""
        self.run_worker(self._fetch(what, target, *args), group=f"dw{target}", exclusive=True)

    async def _fetch(self, what: str, target: str, *args: str) -> None:
        assert self.lookup is not None
        self._dw_busy(True, f"Asking DocuWare for {what}…")
        try:
            options = await exmado_app(self).backend.probe(getattr(self.lookup, what), *args)
        except Exception as exc:
            self._dw_busy(False, self.lookup.explain(exc))
            return
        self._dw_busy(False, "" if options else f"DocuWare lists no {what} here.")
        self.query_one(target, Select).set_options(plain_options(options))
        self._check()

    # -- acting -------------------------------------------------------------------------------

    @property
    def browse_from(self) -> Path:
        """In a browser, the inbox its uploads go to (`exmado serve`); else the current folder."""
        inbox = exmado_app(self).settings.upload_inbox
        return inbox if self.app.is_web and inbox.is_dir() else Path.cwd()

    def action_browse(self) -> None:
        current = Path(self.workbook_input.value.strip() or self.browse_from).expanduser()
        start = current if current.is_dir() else current.parent

        def picked(path: Path | None) -> None:
            if path is not None:
                self.workbook_input.value = str(path)
                self.query_one("#profile").focus()

        self.app.push_screen(FilePickerModal(start), picked)

    def action_from_search(self) -> None:
        """The job's rows from a DocuWare search instead of a workbook: its own form, and the
        job it makes is this form's."""
        from exmado_tui.ui.screens.search_job import SearchJobScreen

        def made(job_id: str | None) -> None:
            if job_id is not None:
                self.dismiss(job_id)

        self.app.push_screen(SearchJobScreen(), made)

    @mutating
    def action_create(self, start: bool) -> None:
        if self._check():
            self.app.notify("The form is not complete; see the notes under it.", severity="warning")
            return
        self.run_worker(self._create(self.form(), start), group="create", exclusive=True)

    async def _create(self, form: JobForm, start: bool) -> None:
        request = JobRequest(
            Path(form.workbook).expanduser(),
            profile=None if form.custom else form.profile,
            config=form.config(),
            output=Path(form.output).expanduser() if form.output else None,
            name=form.name or None,
            start=start,
        )
        await self.create_job(request)

    @mutating
    def action_save_profile(self) -> None:
        self.run_worker(self._save_profile(), group="save-profile")

    async def _save_profile(self) -> None:
        form = self.form()
        if form.custom and validate(form, None).keys() & {"cabinet", "mapping"}:
            self.app.notify("Map a column to a field in a cabinet first.", severity="warning")
            return
        if not form.profile:
            self.app.notify("Pick a profile or map columns first.", severity="warning")
            return
        name = await self.app.push_screen_wait(PromptModal("Save as profile named:", "name"))
        if not name:
            return
        profile = profile_from_form(name, form, self.profile)
        try:
            app = exmado_app(self)
            path = await app.backend.act(save_profile, app.settings.profile_dirs, profile)
        except (OSError, ProfileError) as exc:
            self.app.notify(str(exc), severity="error")
            return
        self.app.notify(f"Profile {name!r} saved to {path}.")
        select = self.profile_select
        with select.prevent(Select.Changed):
            select.set_options(profile_options(app.settings.profile_dirs))
            select.value = name
        self.profile = profile

    def action_back(self) -> None:
        self.dismiss(None)
