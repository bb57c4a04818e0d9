"""Where a process spent its time, from py-spy's raw (collapsed stacks) output.

Each line of the input is `frame;frame;...;leaf count`, a frame being `function (file:line)`.
Samples whose leaf is the event loop waiting in `select` (or a thread parked in a wait) are
idle; the shares below are of the busy samples. "self" counts the leaf function, "inclusive"
every function on the stack once.

    .venv/bin/python bench/profile_summary.py bench/results/tmp/<file>.pyspy.txt
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from typing import Any

_LINE = re.compile(r"\s*\(([^():]+)(?::\d+)?\)$")
_IDLE = ("(selectors.py", "(threading.py", "(queue.py", "(concurrent/futures/thread.py")


def _function(frame: str) -> str:
    """`name (file:line)` -> `name (file)`."""
    return _LINE.sub(r" (\1)", frame)


def summarise(raw: str, top: int = 25) -> dict[str, Any]:
    total = idle = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        total += count
        if any(marker in frames[-1] for marker in _IDLE):
            idle += count
            continue
        own[frames[-1]] += count
        for function in set(frames):
            inclusive[function] += count
    busy = max(1, total - idle)

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / busy, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "busy_pct_of_samples": round(100 * (total - idle) / max(1, total), 1),
        "self_pct_of_busy": share(own),
        "inclusive_pct_of_busy": share(inclusive),
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        summary = summarise(f.read(), top=int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    print(f"samples {summary['samples']}, busy {summary['busy_pct_of_samples']} %")
    for title in ("self_pct_of_busy", "inclusive_pct_of_busy"):
        print(f"\n{title}:")
        for name, pct in summary[title]:
            print(f"  {pct:5.1f}  {name}")
    if len(sys.argv) > 3 and sys.argv[3] == "--json":
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
