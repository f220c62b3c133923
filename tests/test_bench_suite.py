"""The benchmark suite runs every benchmark and records what it measured (never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import suite

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "reconcile",
    "indicators",
    "warnings",
    "api_intake",
    "bid_opening",
    "order_import",
    "statement_pdf",
    "trace_codes",
}


def test_tiny_suite_on_sqlite_records_every_benchmark_with_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "suite.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--scale", "tiny", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["scale"] == "tiny"
    assert result["command"] == f"python -m bench.suite --scale tiny --out {out}"
    machine = result["machine"]
    assert machine["database"] == "sqlite"
    assert machine["database_version"]
    assert machine["cpus"] >= 1
    for fact in ("platform", "python", "at", "git_commit"):
        assert fact in machine
    assert set(result["benchmarks"]) == BENCHMARKS
    for name, bench in result["benchmarks"].items():
        assert bench["rows"], name
        for row in bench["rows"]:
            assert row["benchmark"] == name
            assert row["figure"] > 0, row
            assert row["baseline"] > 0, row
            assert row["ratio"] > 0, row
            assert row["unit"], row
            assert row["baseline_name"], row
            assert row["passed"] in (True, False, None)
            assert (row["target"] is None) == (row["passed"] is None), row
    # Every figure is printed in one table, with a verdict where there is a target.
    for bench in result["benchmarks"].values():
        for row in bench["rows"]:
            assert row["name"] in done.stdout
    assert "pass" in done.stdout or "FAIL" in done.stdout


def test_readme_update_rewrites_only_the_marked_block(tmp_path: Path) -> None:
    payload = {
        "scale": "small",
        "command": "python -m bench.suite --scale small",
        "machine": {
            "database": "sqlite",
            "database_version": "3.40.1",
            "cpus": 2,
            "python": "3.11.7",
            "git_commit": "abc",
            "at": "2026-11-23T00:00:00+00:00",
        },
        "benchmarks": {
            "statement_pdf": {
                "rows": [
                    {
                        "benchmark": "statement_pdf",
                        "name": "statement PDF, 10,000 lines (219 pages)",
                        "figure": 9.0,
                        "unit": "s",
                        "baseline": 13.0,
                        "baseline_name": "bare reportlab table",
                        "ratio": 0.69,
                        "target": "≤ 2× baseline",
                        "passed": True,
                    }
                ],
                "details": {},
            }
        },
    }
    readme = tmp_path / "README.md"
    before = "# Title\n\n## Benchmarks\n\nintro\n\n"
    after = "\n\nlater text\n"
    readme.write_text(f"{before}{suite.START}\nold table\n{suite.END}{after}")
    suite.update_readme(readme, [payload])
    text = readme.read_text()
    assert text.startswith(before + suite.START)
    assert text.endswith(suite.END + after)
    assert "old table" not in text
    assert "`python -m bench.suite --scale small`" in text
    assert "9.00 s vs 13.00 s (0.69×) pass" in text
