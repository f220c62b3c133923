#!/usr/bin/env python3
"""Reference sync client: mirrors what one organization sees on the platform into a local SQLite
file, collection by collection, with the platform's "changes since cursor" API (README, "Sync
interface"). Standard library only (urllib, sqlite3, json).

    python scripts/sync_client.py --url https://platform.example/api/v1 --token $VBP_TOKEN \\
        --db mirror.sqlite3 [--collection order_lines ...] [--names nhsa]

Each page's rows and the collection's next cursor are written in one SQLite transaction, so a
client killed at any point resumes from the last page it stored: a page is stored whole or not at
all, and no change is skipped or applied twice. Run it from cron, or with --every SECONDS.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

#: transport(path, query, headers) -> (status, decoded JSON body). Injectable: tests pass one that
#: calls the Flask test client.
Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, Any]]

SCHEMA = """
CREATE TABLE IF NOT EXISTS mirror_rows (
    collection TEXT NOT NULL,
    id INTEGER NOT NULL,
    version TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS mirror_cursors (
    collection TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
);
"""


class SyncError(RuntimeError):
    pass


def urllib_transport(base_url: str, *, timeout: float = 60.0) -> Transport:
    """HTTP(S) transport over urllib; `base_url` ends in /api/v1."""

    def get(path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        url = base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the operator's URL)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    return get


class Mirror:
    """The local copy: one row per (collection, id) with its current data and version."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(SCHEMA)

    def cursor_of(self, collection: str) -> str | None:
        row = self.db.execute(
            "SELECT cursor FROM mirror_cursors WHERE collection = ?", (collection,)
        ).fetchone()
        return row[0] if row else None

    def store(self, collection: str, items: Iterable[dict[str, Any]], next_cursor: str) -> None:
        """Upsert a page's rows and move the cursor, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO mirror_rows (collection, id, version, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, data = excluded.data",
                [
                    (collection, item["id"], item["version"], json.dumps(item["data"], sort_keys=True))
                    for item in items
                ],
            )
            self.db.execute(
                "INSERT INTO mirror_cursors (collection, cursor) VALUES (?, ?) "
                "ON CONFLICT (collection) DO UPDATE SET cursor = excluded.cursor",
                (collection, next_cursor),
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def rows(self, collection: str) -> dict[int, dict[str, Any]]:
        return {
            row_id: json.loads(data)
            for row_id, data in self.db.execute(
                "SELECT id, data FROM mirror_rows WHERE collection = ?", (collection,)
            )
        }

    def close(self) -> None:
        self.db.close()


class SyncClient:
    def __init__(
        self,
        transport: Transport,
        token: str,
        mirror: Mirror,
        *,
        limit: int = 500,
        names: str = "platform",
        on_page: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.transport, self.mirror, self.limit, self.names = transport, mirror, limit, names
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.on_page = on_page

    def _get(self, path: str, query: dict[str, str]) -> Any:
        status, body = self.transport(path, query, self.headers)
        if status != 200:
            raise SyncError(f"GET {path} answered {status}: {body}")
        return body

    def collections(self) -> list[str]:
        return [c["name"] for c in self._get("/sync", {})["collections"]]

    def sync_collection(self, collection: str) -> int:
        """Pull pages until the platform has nothing more; returns the number of rows stored."""
        stored = 0
        while True:
            query = {"limit": str(self.limit), "names": self.names}
            cursor = self.mirror.cursor_of(collection)
            if cursor:
                query["cursor"] = cursor
            page = self._get(f"/sync/{collection}", query)
            if self.on_page is not None:
                self.on_page(collection, page)
            self.mirror.store(collection, page["items"], page["next_cursor"])
            stored += len(page["items"])
            if not page["has_more"]:
                return stored

    def sync(self, collections: Iterable[str] | None = None) -> dict[str, int]:
        """One pass over the collections (all the caller may mirror, by default)."""
        return {name: self.sync_collection(name) for name in (collections or self.collections())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the API root, e.g. https://host/api/v1")
    parser.add_argument("--token", required=True, help="an API token (POST /api/v1/auth/tokens)")
    parser.add_argument("--db", required=True, help="the local SQLite mirror file")
    parser.add_argument("--collection", action="append", help="only these collections")
    parser.add_argument("--names", choices=("platform", "nhsa"), default="platform")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--every", type=float, default=0, help="poll again every N seconds")
    args = parser.parse_args(argv)
    mirror = Mirror(args.db)
    client = SyncClient(urllib_transport(args.url), args.token, mirror, limit=args.limit, names=args.names)
    try:
        while True:
            counts = client.sync(args.collection)
            print(json.dumps(counts, ensure_ascii=False))
            if not args.every:
                return 0
            time.sleep(args.every)
    finally:
        mirror.close()


if __name__ == "__main__":
    raise SystemExit(main())
