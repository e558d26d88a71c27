"""API: engineers."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.api import schemas
from dashboard.api.base import bp, fail, manager_token_required
from dashboard.api.operations import operation
from kernel.db import get_session
from models import Engineer


@bp.get("/engineers")
@manager_token_required
@operation("List engineers", responses={200: schemas.EngineerList}, managers_only=True)
def list_engineers() -> schemas.EngineerList:
    """Every engineer, by name."""
    rows = get_session().scalars(select(Engineer).order_by(Engineer.name))
    return schemas.EngineerList(engineers=[schemas.Engineer.of(e) for e in rows])


@bp.get("/engineers/<int:engineer_id>")
@manager_token_required
@operation("Read an engineer", responses={200: schemas.Engineer}, managers_only=True)
def read_engineer(engineer_id: int) -> schemas.Engineer:
    """One engineer."""
    found = get_session().get(Engineer, engineer_id)
    if found is None:
        fail(404, f"no engineer {engineer_id}")
    return schemas.Engineer.of(found)
