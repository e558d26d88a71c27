"""The database helpers: planner settings scoped to one block."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kernel.db import bitmap_scans_only


def test_bitmap_scans_only_holds_inside_its_block_and_is_put_back(
    session: Session, is_postgres: bool
) -> None:
    if not is_postgres:
        with bitmap_scans_only(session):
            assert session.execute(text("SELECT 1")).scalar() == 1
        return
    with bitmap_scans_only(session):
        assert session.execute(text("SHOW enable_seqscan")).scalar() == "off"
        assert session.execute(text("SHOW enable_indexscan")).scalar() == "off"
    assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"
    assert session.execute(text("SHOW enable_indexscan")).scalar() == "on"


def test_bitmap_scans_only_leaves_nothing_behind_when_its_block_fails(
    session: Session, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("planner settings are PostgreSQL's")
    with pytest.raises(RuntimeError), bitmap_scans_only(session):
        raise RuntimeError("the search failed")
    session.rollback()
    assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"
