"""The database helpers: planner settings scoped to one block, errors that keep values back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
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


def test_a_failing_statements_logged_error_carries_no_parameter_values(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement's values (a PIN's keyed hash, say) stay out of the error a webhook logs."""
    digest = "7237c6de5e7aadeb5fbb3840a72f6dd777c5f50735d0c2f86401975f0acb0cdb"
    log = logging.getLogger("hotline.test")
    with pytest.raises(DBAPIError) as failed:
        try:
            session.execute(
                text("SELECT id FROM support_pins WHERE pin_hash = :digest AND no_such = 1"),
                {"digest": digest},
            )
        except DBAPIError:
            log.exception("webhook failed")
            raise
    session.rollback()
    assert "no_such" in str(failed.value)  # the statement is still there to debug
    assert digest not in str(failed.value)
    assert "webhook failed" in caplog.text
    assert digest not in caplog.text
