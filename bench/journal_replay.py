"""Time from the database coming back to the webhook journal fully replayed (1,000 webhooks).

Run: .venv/bin/python bench/journal_replay.py [--database-url URL] [--webhooks N]
The webhooks are real ones, journaled by the real path: with the database made unreachable,
N/2 calls each send their Voice webhook and their final status callback (both go to the
journal); then the database comes back and the worker's replayer applies them in order.
Without --database-url a temporary SQLite database and Redis are made and removed.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from twilio.request_validator import RequestValidator

from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis
from hotline.maintenance import journal_of, replay_journal
from hotline.migrate import upgrade
from kernel.db import make_engine
from models import Call

PUBLIC = "https://hotline.bench.test"
SID = "AC" + "0" * 32
TOKEN = "bench-auth-token"


def main() -> None:
    """Parse arguments, journal the webhooks, time the replay, print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database (default: temporary SQLite)")
    parser.add_argument("--webhooks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            run(url, redis_server.url, Path(tmp) / "var", args.webhooks)


def _post(client: Any, path: str, form: dict[str, str]) -> int:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    status: int = client.post(
        path, data=form, headers={"X-Twilio-Signature": signature}
    ).status_code
    return status


def run(url: str, redis_url: str, data_dir: Path, webhooks: int) -> None:
    """Journal `webhooks` webhooks with the database away, then time their replay."""
    upgrade(url)
    app = create_app(
        {
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": str(data_dir),
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret",
            "PIN_PEPPER": "bench-pepper",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        }
    )
    client = app.test_client()
    working = app.extensions["sessionmaker"]
    unreachable = make_engine(f"sqlite:///{data_dir}/unreachable/dir/x.db")
    app.extensions["sessionmaker"] = sessionmaker(unreachable)
    # Each failed webhook logs its traceback, as it should; a thousand of them are noise here.
    logging.disable(logging.CRITICAL)
    run_id = uuid.uuid4().hex[:8]
    sids = [f"CA{run_id}{n:024d}" for n in range(webhooks // 2)]
    for n, call_sid in enumerate(sids):
        form = {"AccountSid": SID, "CallSid": call_sid, "From": f"+1415555{n % 10000:04d}"}
        _post(client, "/ivr/voice", form)
        _post(client, "/ivr/status", form | {"CallStatus": "completed", "CallDuration": "30"})
    journal = journal_of(app)
    pending = journal.pending()
    app.extensions["sessionmaker"] = working  # the database is back
    logging.disable(logging.NOTSET)
    started = time.perf_counter()
    applied = replay_journal(app)
    seconds = time.perf_counter() - started
    with working() as session:
        ended = session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.call_sid.in_(sids), Call.ended_at.is_not(None))
        )
    backend = url.split(":", 1)[0]
    print(f"journaled webhooks: {pending} ({len(sids)} calls: voice + final status)")
    print(f"replayed: {applied}; calls opened and ended: {ended}/{len(sids)}; on {backend}")
    per_webhook = seconds / max(applied, 1) * 1000
    print(f"database back -> journal fully replayed: {seconds:.2f} s ({per_webhook:.1f} ms each)")
    app.extensions["dialer"].close()
    app.extensions["engine"].dispose()
    unreachable.dispose()


if __name__ == "__main__":
    main()
