"""API: engineers."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from dashboard.api import serialize
from dashboard.api.base import bp, fail, manager_token_required
from hotline.db import get_session
from models import Engineer


@bp.get("/engineers")
@manager_token_required
def list_engineers() -> ResponseReturnValue:
    """Every engineer."""
    rows = get_session().scalars(select(Engineer).order_by(Engineer.name))
    return jsonify({"engineers": [serialize.engineer(e) for e in rows]})


@bp.get("/engineers/<int:engineer_id>")
@manager_token_required
def read_engineer(engineer_id: int) -> ResponseReturnValue:
    """One engineer."""
    found = get_session().get(Engineer, engineer_id)
    if found is None:
        fail(404, f"no engineer {engineer_id}")
    return jsonify(serialize.engineer(found))
