"""The shipped migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import models
from hotline.migrate import MIGRATIONS_DIR, alembic_config, current_revision
from kernel.db import make_engine


def test_database_is_at_the_latest_revision(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current_revision(database_url) == head


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert differences == []


def test_revisions_form_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_file_order_is_revision_order() -> None:
    """Migration files sorted by name walk the chain from the first revision to the head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    files = sorted(p.name for p in MIGRATIONS_DIR.joinpath("versions").glob("[0-9]*.py"))
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert [name.split("_", 1)[0] for name in files] == chain
    for name, revision in zip(files, chain, strict=True):
        assert script.get_revision(revision).module.__file__.endswith(name)
