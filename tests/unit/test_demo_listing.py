"""What `exmado demo` shows of the folder it filled: the first files, how many more, then the
report and the manifest, each named for what it is."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.commands.demo import output_listing


def fill(output: Path, names: list[str]) -> None:
    for name in names:
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_text("x")


def test_the_files_past_the_first_are_counted_and_the_manifest_is_not_called_a_report(
    tmp_path: Path,
) -> None:
    fill(tmp_path, [f"Acme/2024/{n}.pdf" for n in range(100001, 100011)])
    fill(tmp_path, ["exmado-report.xlsx", "exmado-manifest.json"])
    lines = output_listing(tmp_path, shown=3)
    assert lines == [
        "  Acme/2024/100001.pdf",
        "  Acme/2024/100002.pdf",
        "  Acme/2024/100003.pdf",
        "  … and 7 more",
        f"Report:   {tmp_path / 'exmado-report.xlsx'}",
        f"Manifest: {tmp_path / 'exmado-manifest.json'}",
    ]


def test_a_few_files_are_all_shown(tmp_path: Path) -> None:
    fill(tmp_path, ["A/1.pdf", "B/2.pdf", "exmado-report.xlsx"])
    assert output_listing(tmp_path, shown=3) == [
        "  A/1.pdf",
        "  B/2.pdf",
        f"Report:   {tmp_path / 'exmado-report.xlsx'}",
    ]
