"""Alembic migrations: shipped revisions are never edited, only added to."""
