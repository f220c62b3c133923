"""What every benchmark shares: machine facts, result rows (figure, baseline measured in the same
run, ratio, target), the JSON result file, fresh databases, and the printed table.

A benchmark module exposes ``run(...) -> Result``; its ``main()`` parses arguments, calls it and
hands the result to :func:`report`. ``bench.suite`` calls the same ``run`` functions.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Target:
    """A goal on the figure itself (``of="figure"``) or on figure ÷ baseline (``of="ratio"``)."""

    of: Literal["figure", "ratio"]
    op: Literal["<=", ">="]
    value: float
    text: str

    def met(self, figure: float, ratio: float | None) -> bool | None:
        value = figure if self.of == "figure" else ratio
        if value is None:
            return None
        return value <= self.value if self.op == "<=" else value >= self.value


@dataclass(frozen=True)
class Row:
    """One figure with the baseline it is judged against (same run, same machine, same data).

    ratio = figure ÷ baseline in the figure's unit: for seconds, how many times the baseline's
    time; for rates, the share of the baseline's rate."""

    benchmark: str
    name: str
    figure: float
    unit: str
    baseline: float
    baseline_name: str
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        return self.figure / self.baseline if self.baseline else None

    @property
    def passed(self) -> bool | None:
        return self.target.met(self.figure, self.ratio) if self.target else None

    def to_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "benchmark": self.benchmark,
            "name": self.name,
            "figure": _round(self.figure),
            "unit": self.unit,
            "baseline": _round(self.baseline),
            "baseline_name": self.baseline_name,
            "ratio": _round(ratio) if ratio is not None else None,
            "target": self.target.text if self.target else None,
            "passed": self.passed,
        }


@dataclass
class Result:
    """A benchmark's rows and the further facts worth keeping (counts, sizes, peak memory)."""

    benchmark: str
    rows: list[Row]
    details: dict[str, Any] = field(default_factory=dict)
    database_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rows": [r.to_json() for r in self.rows], "details": self.details}


def _round(x: float) -> float:
    """Four significant digits: enough for a benchmark, never 0 for a short baseline."""
    return float(f"{x:.4g}")


def database_version(url: str) -> tuple[str, str]:
    """(kind, server version) of the database at url."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                version = conn.execute(text("SELECT sqlite_version()")).scalar()
            else:
                version = conn.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    return engine.dialect.name, str(version)


def git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head


def machine_facts(database_url: str | None = None) -> dict[str, Any]:
    """CPU count, platform, Python, database kind and server version, time, git commit."""
    facts: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "database": None,
        "database_version": None,
    }
    if database_url:
        facts["database"], facts["database_version"] = database_version(database_url)
    return facts


def database_label(facts: dict[str, Any]) -> str:
    if not facts.get("database"):
        return "no database"
    return f"{facts['database']} {facts['database_version']}"


def describe(facts: dict[str, Any]) -> str:
    return (
        f"{database_label(facts)}, {facts['cpus']} CPUs, Python {facts['python']}, "
        f"commit {facts['git_commit']}, {facts['at']}"
    )


def fresh_database(url: str) -> None:
    """Drop and recreate the database (PostgreSQL), or delete the file (SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            Path(parsed.database).unlink()
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return path


def result_payload(result: Result, facts: dict[str, Any], command: str | None = None) -> dict[str, Any]:
    return {
        "benchmark": result.benchmark,
        "command": command or " ".join(["python -m", _module_of(sys.argv[0]), *sys.argv[1:]]),
        "machine": facts,
        **result.to_json(),
    }


def _module_of(argv0: str) -> str:
    path = Path(argv0)
    return f"bench.{path.stem}" if path.suffix == ".py" else argv0


def format_figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.3g} ms"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


def verdict(passed: bool | None) -> str:
    return "—" if passed is None else ("pass" if passed else "FAIL")


def table(rows: Sequence[Row]) -> str:
    """The printed table: figure, baseline, ratio, target, pass/fail."""
    header = ("figure", "value", "baseline", "", "ratio", "target", "")
    lines = [
        (
            r.name,
            format_figure(r.figure, r.unit),
            format_figure(r.baseline, r.unit),
            r.baseline_name,
            format_ratio(r.ratio),
            r.target.text if r.target else "—",
            verdict(r.passed),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    out = []
    for n, line in enumerate([header, *lines]):
        cells = [
            str(c).rjust(w) if i in (1, 2, 4) else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def report(results: Iterable[Result], out: Path, *, database_url: str | None) -> dict[str, Any]:
    """Print a standalone benchmark's table and write its JSON result with the machine facts."""
    results = list(results)
    facts = machine_facts(database_url)
    rows = [r for result in results for r in result.rows]
    print(describe(facts))
    print(table(rows))
    for result in results:
        for key, value in result.details.items():
            print(f"  {result.benchmark}.{key}: {value}")
    if len(results) == 1:
        payload = result_payload(results[0], facts)
    else:
        payload = {
            "command": " ".join(["python -m", _module_of(sys.argv[0]), *sys.argv[1:]]),
            "machine": facts,
            "benchmarks": {r.benchmark: r.to_json() for r in results},
        }
    write_json(out, payload)
    print(f"result: {out}")
    return payload
