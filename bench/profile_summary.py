"""Summarise a py-spy flame graph (SVG): the share of samples under each of our functions.

Run: .venv/bin/python bench/profile_summary.py bench/results/storm-after.svg [--top 30]
Shares are inclusive (a function and everything it called), of all samples in the file.
"""

from __future__ import annotations

import argparse
import html
import re
from collections import Counter
from pathlib import Path

TITLE = re.compile(r"<title>(.*?) \(([\d,]+) samples?, ([\d.]+)%\)</title>")
OURS = ("ivr/", "entitlement/", "routing/", "tickets/", "notify/", "kernel/", "hotline/")
OTHERS = ("sqlalchemy/", "psycopg/", "flask/", "werkzeug/", "jinja2/", "twilio/", "xml/")


def summarise(svg: str) -> tuple[Counter[str], Counter[str]]:
    """Inclusive percentages per frame: ours, and by library."""
    ours: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    seen_library: dict[str, float] = {}
    for raw, _samples, share in TITLE.findall(svg):
        frame = html.unescape(raw)
        percent = float(share)
        if any(f"({prefix}" in frame for prefix in OURS):
            ours[frame] += percent
        for prefix in OTHERS:
            if f"({prefix}" in frame:
                # Outermost frames of a library only: nested ones are inside them already.
                seen_library[prefix] = max(seen_library.get(prefix, 0.0), percent)
    libraries.update(seen_library)
    return ours, libraries


def main() -> None:
    """Print the top frames of the file."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parent / "results" / "storm-after.svg"
    parser.add_argument("svg", type=Path, nargs="?", default=default)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    ours, libraries = summarise(args.svg.read_text(encoding="utf-8"))
    print(f"{args.svg.name}: share of samples (inclusive)")
    for frame, percent in ours.most_common(args.top):
        print(f"  {percent:5.1f}%  {frame}")
    print("outermost frame of each library (inclusive):")
    for prefix, percent in libraries.most_common():
        print(f"  {percent:5.1f}%  {prefix}")


if __name__ == "__main__":
    main()
