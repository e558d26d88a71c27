"""Run the whole test suite N times in a row under pytest-xdist beside a CPU hog; print each run."""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _burn() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (-n)")
    parser.add_argument(
        "--keep-dir", type=Path, default=ROOT / "var", help="where a failed run's output is kept"
    )
    args = parser.parse_args()

    hog = multiprocessing.Process(target=_burn, daemon=True)
    hog.start()
    failures = 0
    times: list[float] = []
    try:
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "xdist", "-n", args.workers,
                 "-p", "no:cacheprovider"],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            times.append(elapsed)
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
            failures += result.returncode != 0
            line = f"run {run:2d}: {elapsed:6.1f} s  exit {result.returncode}  {summary}"
            print(line, flush=True)
            # Name what failed, so a flake can be chased rather than guessed at.
            for failed in result.stdout.splitlines():
                # "ERROR tests/..." is a test in error; "ERROR    ..." is a captured log line.
                if failed.startswith(("FAILED tests/", "ERROR tests/")):
                    print(f"        {failed}", flush=True)
            if result.returncode != 0:
                kept = args.keep_dir / f"suite-run-{run}.log"
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(result.stdout + result.stderr)
                print(f"        whole output: {kept}", flush=True)
    finally:
        hog.terminate()
    print(f"{args.runs - failures}/{args.runs} runs passed; wall time min {min(times):.1f} s, "
          f"median {sorted(times)[len(times) // 2]:.1f} s, max {max(times):.1f} s")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
