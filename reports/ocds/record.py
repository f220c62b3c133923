"""The compiled record of a batch: its releases and the release they merge into (OCDS merge)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ledger.disclosure import public_batch
from reports.ocds.build import STAGES, Publisher, ocid, package_head, release


def compile_releases(releases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """OCDS merge, in date order: later values replace earlier ones; arrays of objects with `id`
    merge by id; other arrays are replaced whole; the result is tagged `compiled`."""
    compiled: dict[str, Any] = {}
    ordered = sorted(releases, key=lambda r: r["date"])
    for item in ordered:
        compiled = _merge(compiled, item)
    if ordered:
        compiled["id"] = f"{ordered[-1]['ocid']}-compiled"
        compiled["tag"] = ["compiled"]
    return compiled


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value_ in new.items():
            merged[key] = _merge(old.get(key), value_) if key in old else value_
        return merged
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and all(isinstance(x, dict) and "id" in x for x in old + new)
    ):
        by_id = {x["id"]: x for x in old}
        for x in new:
            by_id[x["id"]] = _merge(by_id[x["id"]], x) if x["id"] in by_id else x
        return list(by_id.values())
    return new


def record_package(
    session: Session, batch_id: int, stages: Iterable[str], *, publisher: Publisher, published: datetime
) -> dict[str, Any] | None:
    """The batch's record: its releases of `stages` and the compiled release; None if not public."""
    batch = public_batch(session, batch_id)
    if batch is None:
        return None
    releases = [release(session, batch, stage, publisher) for stage in STAGES if stage in set(stages)]
    if not releases:
        return None
    uri = f"{publisher.base_uri}/batches/{batch.id}/record"
    head = package_head(uri, publisher, published)
    head["packages"] = [f"{publisher.base_uri}/batches/{batch.id}/{r['tag'][0]}" for r in releases]
    record = {
        "ocid": ocid(publisher, batch.id),
        "releases": releases,
        "compiledRelease": compile_releases(releases),
    }
    return {**head, "records": [record]}
