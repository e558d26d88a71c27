"""Routing configurations: each load stores the whole validated configuration as a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class RoutingConfigVersion(Base):
    __tablename__ = "routing_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The newest version is the one in force; older ones say who was on call for past calls.
    version: Mapped[int] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    # The configuration in the YAML format's plain data, plus the Engineer ids of its keys.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
