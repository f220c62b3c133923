"""Helpers shared by the API blueprints: pagination of scoped selects."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

#: Every list endpoint pages (default 20, at most 100 per page).
PAGE = {"page": 1, "page_size": 20, "max_page_size": 100}


def paginate(session: Session, stmt: Select[Any], params: PaginationParameters) -> list[Any]:
    """Run a scoped select for one page and tell flask-smorest the total (X-Pagination header)."""
    params.item_count = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if params.first_item >= (params.item_count or 0):
        return []  # past the end (also keeps absurd page numbers out of the SQL OFFSET)
    return list(session.scalars(stmt.limit(params.page_size).offset(params.first_item)).all())
