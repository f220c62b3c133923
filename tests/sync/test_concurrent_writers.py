"""The Done-when test: four writers commit out of order (transactions of varying length, each on
its own connection) while a reader polls with its cursor the whole time; at the end the mirror
equals the platform exactly, and no version of any row was delivered twice.

Runs on both databases (SQLite: a file database, writers serialised by its write lock).
Sizes are bounded for CI; VBP_SYNC_WRITES sets the transactions per writer."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from app.db import get_db
from tests.sync.helpers import flask_transport, settle, sync_client, token_of
from tests.sync.scenario import EVENTS, Platform, run_event
from tests.sync.test_convergence import assert_converged

WRITES = int(os.environ.get("VBP_SYNC_WRITES", "15"))
WRITERS = 4


def test_four_concurrent_writers_and_a_polling_reader_converge_with_no_gaps_or_repeats(
    platform: Platform, tmp_path: Path
) -> None:
    mirror = sync_client.Mirror(str(tmp_path / "mirror.sqlite3"))
    deliveries: Counter[tuple[str, int, str]] = Counter()

    def count(collection: str, page: dict[str, Any]) -> None:
        for item in page["items"]:
            deliveries[(collection, item["id"], item["version"])] += 1

    client = sync_client.SyncClient(
        flask_transport(platform.app.test_client()),
        token_of(platform.hospital_headers),
        mirror,
        limit=5,
        on_page=count,
    )
    errors: list[BaseException] = []
    polled = SimpleNamespace(n=0)  # polls so far (only the reader writes it)

    def slow(event: Any) -> Any:
        def run(p: Any, s: Any, rng: random.Random) -> None:
            event(p, s, rng)
            s.flush()
            time.sleep(rng.random() * 0.03)  # hold the transaction open: commits land out of order

        return run

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(WRITES):
                if n == WRITES // 2:
                    # Half-way, wait for the reader to have polled twice: it reads while others
                    # still write, however slow the machine (the assertion below needs it).
                    deadline = time.monotonic() + 600
                    while polled.n < 2 and time.monotonic() < deadline:
                        time.sleep(0.01)
                run_event(platform, slow(rng.choice(EVENTS)), rng)
                time.sleep(rng.random() * 0.01)  # let the reader in between (SQLite's one lock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        client.sync()
        polled.n += 1
    for thread in threads:
        thread.join()
    assert not errors, errors
    settle(get_db(platform.app).engine)
    client.sync()

    assert polled.n > 1
    assert_converged(platform, mirror, platform.hospital)
    repeated = [key for key, times in deliveries.items() if times > 1]
    assert repeated == []
    assert mirror.rows("order_lines")  # the writers did write
    mirror.close()
