"""CPU the notification worker (`hotline worker`: RQ workers, relay, maintenance) uses while
nothing happens: the share of one core, measured over a quiet window.

Run: .venv/bin/python bench/idle_worker.py [--database-url URL] [--seconds 30] [--count 1]
A --database-url must be a scratch database (it is migrated). Redis is an embedded server.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.migrate import upgrade  # noqa: E402


def tree_cpu(process: psutil.Process) -> float:
    """CPU seconds (user + system) of `process` and its children so far."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    """Start an idle worker, let it settle, measure its CPU share."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--count", type=int, default=1, help="RQ workers in the pool")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'idle.db'}"
        upgrade(url)
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            env = {
                **os.environ,
                "HOTLINE_ENV": "test",
                "HOTLINE_DATA_DIR": str(Path(tmp) / "var"),
                "DATABASE_URL": url,
                "REDIS_URL": redis_server.url,
                "SECRET_KEY": "idle",
                "PIN_PEPPER": "idle-pepper",
            }
            worker = psutil.Popen(
                [sys.executable, "-m", "hotline", "worker", "--count", str(args.count)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(5)  # started and settled
                before, started = tree_cpu(worker), time.monotonic()
                time.sleep(args.seconds)
                used, elapsed = tree_cpu(worker) - before, time.monotonic() - started
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"idle `hotline worker --count {args.count}` on {engine}: {used * 1000 / elapsed:.1f} ms "
        f"of CPU per second = {100 * used / elapsed:.2f} % of a core (over {elapsed:.0f} s; "
        "target < 1 %)"
    )


if __name__ == "__main__":
    main()
