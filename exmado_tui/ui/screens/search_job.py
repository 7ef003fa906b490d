"""`SearchJobScreen`: a job "From a search": a cabinet and dialog listed by DocuWare, conditions
added from the dialog's fields (or typed as on the command line), DocuWare's count of the
documents while you edit, a profile and an output; then create."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from exmado_tui.config.profiles import profile_names
from exmado_tui.job.new_job import JobRequest
from exmado_tui.ui.app import exmado_app, mutating
from exmado_tui.ui.backend import DocuWareLookup, Options
from exmado_tui.ui.keys import KeyFooter
from exmado_tui.ui.logic.job_forms import Count, SearchForm, add_condition, validate_search
from exmado_tui.ui.screens.job_form import FieldRow, FormInput, JobFormScreen, plain_options

COUNT_DELAY_S = 0.4  # counted once the conditions rest this long, not at every key


class SearchJobScreen(JobFormScreen):
    """A form checked as you edit; Create stays refused until DocuWare has counted at least
    one document. Dismisses with the new job's id."""

    BUTTON_ACTIONS = {
        "add": "add_condition",
        "create": "create(False)",
        "create-start": "create(True)",
        "cancel": "back",
    }
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+a", "add_condition", "Add condition"),
        Binding("ctrl+s", "create(False)", "Create"),
        Binding("ctrl+e", "create(True)", "Create and start"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lookup: DocuWareLookup | None = None
        self.count = Count()

    def compose(self) -> ComposeResult:
        yield Static("New job from a search", classes="screen-title")
        with VerticalScroll(id="form"):
            yield FieldRow("Cabinet", Select([], id="cabinet", compact=True))
            yield FieldRow(
                "Dialog", Select([], id="dialog", compact=True, prompt="(the cabinet's default)")
            )
            yield FieldRow(
                "Field",
                Select([], id="field", compact=True, prompt="field"),
                Label(" = "),
                FormInput(placeholder="x, a*, a..b, a.., ..b", id="value", compact=True),
                Button("Add (^a)", id="add", compact=True),
            )
            yield FieldRow(
                "Conditions",
                FormInput(
                    placeholder="FIELD=VALUE … (none: every document)",
                    id="conditions",
                    compact=True,
                ),
            )
            yield FieldRow("Documents", Static("-", id="count", markup=False))
            profiles = [(name, name) for name in profile_names(self._profile_dirs)]
            yield FieldRow(
                "Profile",
                Select(
                    profiles, prompt="(none: DocuWare's file names)", id="profile", compact=True
                ),
            )
            yield FieldRow(
                "Name", FormInput(placeholder="(the cabinet's name)", id="name", compact=True)
            )
            yield FieldRow(
                "Output",
                FormInput(placeholder=f"{self._output_root}/…", id="output", compact=True),
            )
            yield Static(id="form-errors", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Create (^s)", id="create", variant="primary", compact=True)
                yield Button(
                    "Create and start (^e)", id="create-start", variant="success", compact=True
                )
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield KeyFooter()

    @property
    def _profile_dirs(self) -> list[Path]:
        return list(exmado_app(self).settings.profile_dirs)

    @property
    def _output_root(self) -> Path:
        return exmado_app(self).settings.jobs.output_root

    def on_mount(self) -> None:
        self.lookup = DocuWareLookup(exmado_app(self).settings.docuware)
        self._ask("cabinets", "#cabinet")
        self.query_one("#cabinet").focus()
        self._check()

    def on_unmount(self) -> None:
        if self.lookup is not None:
            exmado_app(self).backend.probe_nowait(self.lookup.close)

    # -- the form ---------------------------------------------------------------------------

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        raw = widget.value if isinstance(widget, (Input, Select)) else ""
        return "" if raw is Select.NULL or raw is None else str(raw)

    def form(self) -> SearchForm:
        return SearchForm(
            cabinet=self._value("#cabinet"),
            dialog=self._value("#dialog"),
            conditions=self._value("#conditions"),
            profile=self._value("#profile"),
            name=self._value("#name").strip(),
            output=self._value("#output").strip(),
        )

    def _check(self) -> dict[str, str]:
        errors = validate_search(self.form(), self.count)
        label = self.query_one("#form-errors", Static)
        label.update("\n".join(f"• {e}" for e in errors.values()))
        label.set_class(bool(errors), "-has-errors")
        self.query_one("#count", Static).update(self.count.shown)
        return errors

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        form = self.form()
        if event.select.id == "cabinet" and form.cabinet:
            self._ask("dialogs", "#dialog", form.cabinet)
            self._ask("fields", "#field", form.cabinet, "")
        elif event.select.id == "dialog" and form.cabinet:
            self._ask("fields", "#field", form.cabinet, form.dialog)
        if event.select.id in ("cabinet", "dialog"):
            self._recount()
        self._check()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "conditions":
            self._recount()
        self._check()

    # -- DocuWare -----------------------------------------------------------------------------

    def _ask(self, what: str, target: str, *args: str) -> None:
        self.run_worker(self._fetch(what, target, *args), group=f"dw{target}", exclusive=True)

    async def _fetch(self, what: str, target: str, *args: str) -> None:
        assert self.lookup is not None
        try:
            options: Options = await exmado_app(self).backend.probe(
                getattr(self.lookup, what), *args
            )
        except Exception as exc:  # any failure is shown to the user in one line
            self.count = Count(error=self.lookup.explain(exc))
            self._check()
            return
        self.query_one(target, Select).set_options(plain_options(options))

    def _recount(self) -> None:
        self.count = Count()
        self.run_worker(self._count(self.form()), group="count", exclusive=True)

    async def _count(self, form: SearchForm) -> None:
        await asyncio.sleep(COUNT_DELAY_S)  # a newer edit cancels this one (exclusive)
        if not form.cabinet or self.lookup is None:
            return
        try:
            source = form.source()
            documents = await exmado_app(self).backend.probe(self.lookup.count, source)
        except ValueError as exc:
            self.count = Count(error=str(exc))
        except Exception as exc:  # any failure is shown to the user in one line
            self.count = Count(error=self.lookup.explain(exc))
        else:
            self.count = Count(documents)
        self._check()

    # -- acting -------------------------------------------------------------------------------

    def action_add_condition(self) -> None:
        """The picked field and the value typed beside it, added to the conditions."""
        field, value = self._value("#field"), self._value("#value").strip()
        if not field or not value:
            self.app.notify("Pick a field and type its value first.", severity="warning")
            return
        conditions = self.query_one("#conditions", Input)
        conditions.value = add_condition(conditions.value, field, value)
        self.query_one("#value", Input).value = ""

    @mutating
    def action_create(self, start: bool) -> None:
        if self._check():
            self.app.notify("The form is not complete; see the notes under it.", severity="warning")
            return
        self.run_worker(self._create(self.form(), start), group="create", exclusive=True)

    async def _create(self, form: SearchForm, start: bool) -> None:
        request = JobRequest(
            form.source(self.count.documents),
            profile=form.profile or None,
            output=Path(form.output).expanduser() if form.output else None,
            name=form.name or None,
            start=start,
        )
        await self.create_job(request)

    def action_back(self) -> None:
        self.dismiss(None)
