"""The reliability suite's one line: faults survived, what they lost, hostile inputs refused,
security cases held.

One `Tally` per pytest process (`TALLY`); the fault tests add an `Audit` per job, the hostile
corpus one call per input. `tests/conftest.py` prints `line()` at the end and fails the session
when `failures()` is not empty; under pytest-xdist each worker hands its tally to the controller,
which merges them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class Audit:
    """What one job left behind after a fault; every count but `rows` must be zero."""

    fault: str
    rows: int
    completed: bool
    lost: int = 0
    twice: int = 0
    duplicate_files: int = 0
    partial_files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        losses = self.lost + self.twice + self.duplicate_files + self.partial_files
        return self.completed and not losses and not self.problems


@dataclass
class Tally:
    faults: int = 0
    completed: int = 0
    lost: int = 0
    twice: int = 0
    duplicate_files: int = 0
    partial_files: int = 0
    hostile_clear: int = 0
    hostile_unclear: list[str] = field(default_factory=list)
    peak_rss: int = 0
    hostile_slowest: float = 0.0  # seconds the slowest hostile input took to end
    hostile_cpu: float = 0.0  # the most worker CPU seconds one hostile input cost
    security_held: int = 0
    security_broken: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fault(self, audit: Audit) -> None:
        self.faults += 1
        self.completed += audit.completed
        self.lost += audit.lost
        self.twice += audit.twice
        self.duplicate_files += audit.duplicate_files
        self.partial_files += audit.partial_files
        self.problems += [f"{audit.fault}: {p}" for p in audit.problems]

    def hostile(
        self, kind: str, *, clear: bool, peak_rss_bytes: int, seconds: float = 0, cpu: float = 0
    ) -> None:
        """One hostile input: `clear` when it ended in time with one sentence, no traceback;
        `seconds` on the clock (the machine's load included), `cpu` of the worker's."""
        self.hostile_slowest = max(self.hostile_slowest, seconds)
        self.hostile_cpu = max(self.hostile_cpu, cpu)
        if clear:
            self.hostile_clear += 1
        else:
            self.hostile_unclear.append(kind)
        self.worker_rss(peak_rss_bytes)

    def security(self, kind: str, *, held: bool) -> None:
        """One security case (a browser page, a lying server's link, a local user): `held` when
        Éxmado refused it and nothing leaked."""
        if held:
            self.security_held += 1
        else:
            self.security_broken.append(kind)

    def worker_rss(self, peak_bytes: int) -> None:
        self.peak_rss = max(self.peak_rss, peak_bytes)

    def merge(self, other: Tally) -> None:
        """Add another process's tally (a pytest-xdist worker's) to this one."""
        for name in ("faults", "completed", "lost", "twice", "duplicate_files", "partial_files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.hostile_clear += other.hostile_clear
        self.hostile_unclear += other.hostile_unclear
        self.security_held += other.security_held
        self.security_broken += other.security_broken
        self.problems += other.problems
        self.peak_rss = max(self.peak_rss, other.peak_rss)
        self.hostile_slowest = max(self.hostile_slowest, other.hostile_slowest)
        self.hostile_cpu = max(self.hostile_cpu, other.hostile_cpu)

    @property
    def used(self) -> bool:
        return bool(
            self.faults
            or self.hostile_clear
            or self.hostile_unclear
            or self.security_held
            or self.security_broken
        )

    def line(self) -> str:
        return (
            f"reliability: faults {self.faults}, jobs completed {self.completed}, "
            f"rows lost: {self.lost}, rows done twice: {self.twice}, "
            f"duplicate files: {self.duplicate_files}, partial files: {self.partial_files}, "
            f"hostile inputs {self.hostile_clear} refused clearly "
            f"({len(self.hostile_unclear)} unclear, slowest {self.hostile_slowest:.1f} s, "
            f"{self.hostile_cpu:.1f} s of worker CPU), "
            f"security cases {self.security_held} held ({len(self.security_broken)} broken), "
            f"worker peak RSS {self.peak_rss / MB:.0f} MB"
        )

    def failures(self) -> list[str]:
        counts = {
            "jobs not completed": self.faults - self.completed,
            "rows lost": self.lost,
            "rows done twice": self.twice,
            "duplicate files": self.duplicate_files,
            "partial files": self.partial_files,
            "hostile inputs unclear": len(self.hostile_unclear),
            "security cases broken": len(self.security_broken),
        }
        found = [f"{what}: {n}" for what, n in counts.items() if n]
        unclear = [f"unclear: {k}" for k in self.hostile_unclear]
        return found + self.problems + unclear + [f"broken: {k}" for k in self.security_broken]


TALLY = Tally()
