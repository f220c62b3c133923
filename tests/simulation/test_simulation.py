"""Model-based simulation of the three-flow ledger, in the spirit of TigerBeetle's simulator and of
property-based testing: seeded random sequences of events on a small market (2 hospitals, 2
distributors, one listed product) through the service functions, illegal attempts included,
checked against a plain-Python reference model after every step.

Sizes are bounded for CI and raised by environment variables:

* `VBP_SIM_SEEDS` (default 50 on SQLite, 20 on PostgreSQL), `VBP_SIM_STEPS` (default 100),
  `VBP_SIM_FIRST_SEED` (default 1): which seeds to play;
* `VBP_SIM_SHRINK` (default 300): how many replays the shrinker may spend on a failure.

A failure prints its seed and a shrunk event sequence that reproduces it; replay one with
`VBP_SIM_FIRST_SEED=<seed> VBP_SIM_SEEDS=1 pytest tests/simulation`.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db import Database
from tests.conftest import Databases
from tests.simulation.checks import check_after_step
from tests.simulation.driver import Disagreement, Event, Sim, World, make_sim_world
from tests.simulation.generator import generate


def _setting(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def play(world: World, events: Sequence[Event]) -> tuple[Sim, Exception | None, int]:
    """Replay `events` on the world inside a savepoint (rolled back after); returns the sim, the
    first failure and the index of the event it followed."""
    savepoint = world.session.begin_nested()
    sim = Sim(world)
    try:
        for n, ev in enumerate(events):
            try:
                if sim.apply(ev) == "skipped":
                    continue
                check_after_step(sim)
            except (Disagreement, Exception) as exc:
                return sim, exc, n
        return sim, None, len(events)
    finally:
        savepoint.rollback()
        world.session.expunge_all()  # the next replay starts from what the database holds


def run_seed(world: World, seed: int, steps: int) -> tuple[list[Event], Exception | None, Counter[str]]:
    """Generate and play `steps` events from `seed`, checking after each."""
    rng = random.Random(seed)
    savepoint = world.session.begin_nested()
    sim = Sim(world)
    outcomes: Counter[str] = Counter()
    events: list[Event] = []
    try:
        for _ in range(steps):
            ev = generate(sim, rng)
            events.append(ev)
            try:
                outcomes[sim.apply(ev)] += 1
                check_after_step(sim)
            except (Disagreement, Exception) as exc:
                return events, exc, outcomes
        return events, None, outcomes
    finally:
        savepoint.rollback()
        world.session.expunge_all()  # the next replay starts from what the database holds


def signature(failure: BaseException) -> str:
    """What kind of failure it is, without the ids and amounts that change as it shrinks."""
    return re.sub(r"-?\d+", "#", str(failure))[:80]


def shrink(world: World, events: list[Event], failure: BaseException, budget: int) -> list[Event]:
    """Delta debugging: drop chunks of events while the shorter sequence still fails the same way."""
    wanted = signature(failure)
    current = list(events)
    chunk = max(1, len(current) // 2)
    while chunk >= 1 and budget > 0:
        start, shrunk = 0, False
        while start < len(current) and budget > 0:
            candidate = current[:start] + current[start + chunk :]
            budget -= 1
            _, found, at = play(world, candidate)
            if found is not None and signature(found) == wanted:
                current = candidate[: at + 1]
                shrunk = True
            else:
                start += chunk
        if not shrunk:
            chunk //= 2
    return current


@contextmanager
def world_on(url: str) -> Iterator[World]:
    """The simulation's market on the database at `url`, in one transaction rolled back after."""
    database = Database(url)
    connection = database.engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield make_sim_world(session)
    finally:
        session.close()
        outer.rollback()
        connection.close()
        database.engine.dispose()


def report(world: World, seed: int, events: list[Event], failure: BaseException, budget: int) -> str:
    """The failure of a seed with its shrunk sequence, ready to print."""
    shrunk = shrink(world, events, failure, budget)
    _, again, _ = play(world, shrunk)
    lines = "\n".join(f"  {n:3d}. {ev}" for n, ev in enumerate(shrunk))
    return (
        f"seed {seed}: {type(failure).__name__}: {failure}\n"
        f"shrunk from {len(events)} to {len(shrunk)} events (replay: VBP_SIM_FIRST_SEED={seed} "
        f"VBP_SIM_SEEDS=1); the shrunk sequence fails with: {again}\n{lines}"
    )


def work(url: str, seeds: list[int], steps: int, budget: int) -> tuple[Counter[str], str | None]:
    """One worker: a world on its own database, the seeds played in turn; the first failure is
    shrunk and reported."""
    totals: Counter[str] = Counter()
    with world_on(url) as world:
        for seed in seeds:
            events, failure, outcomes = run_seed(world, seed, steps)
            totals.update(outcomes)
            if failure is not None:
                return totals, report(world, seed, events, failure, budget)
    return totals, None


def test_the_ledger_agrees_with_the_model_after_every_step(
    databases: Databases, request: pytest.FixtureRequest
) -> None:
    kind = request.config.getoption("--db")
    seeds = _setting("VBP_SIM_SEEDS", 50 if kind == "sqlite" else 20)
    steps = _setting("VBP_SIM_STEPS", 100)
    first = _setting("VBP_SIM_FIRST_SEED", 1)
    budget = _setting("VBP_SIM_SHRINK", 300)
    # One worker per core (2 on the CI machines), each on its own database.
    workers = max(1, min(_setting("VBP_SIM_WORKERS", os.cpu_count() or 1), seeds))
    urls = []
    for _ in range(workers):
        urls.append(databases.new())
        command.upgrade(alembic_config(urls[-1]), "head")
    chunks = [list(range(first + n, first + seeds, workers)) for n in range(workers)]
    if workers == 1:
        results = [work(urls[0], chunks[0], steps, budget)]
    else:
        # An executor notices a dead worker (BrokenProcessPool) instead of waiting for it forever.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            jobs = [
                pool.submit(work, url, chunk, steps, budget) for url, chunk in zip(urls, chunks, strict=True)
            ]
            results = [job.result() for job in jobs]
    totals: Counter[str] = Counter()
    for outcomes, _ in results:
        totals.update(outcomes)
    failures = [report for _, report in results if report is not None]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    # The run exercised both sides: legal events accepted and illegal ones refused.
    assert totals["ok"] > 0, totals
    assert totals["refused"] > 0, totals
