"""Benchmark what the HTML page's timeline adds to `orch tick`: 200 tasks and a day of ledger history."""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORCH, fmt, log, parser, result, run, timed, workdir  # noqa: E402
from history import build, fill  # noqa: E402

TARGET = 1.05  # the timeline may add at most 5% to a tick

# In a fresh process, as a tick would: the timeline's queries, arithmetic and HTML, timed once (cold statements).
_MEASURE = r"""
import json, time
from orchestrator.ledger.connect import open_ledger
from orchestrator.paths import find_repo
from orchestrator.report import context
from orchestrator.report.render import environment
from orchestrator.timeutil import utcnow

ledger = open_ledger(find_repo("."), None)
module = environment().get_template("_timeline.html.jinja").module
with ledger.session(readonly=True) as s:
    proj = ledger.project(s)
    t0 = time.perf_counter()
    picture = context.add_timeline(s, proj, ledger.settings, {}, utcnow())
    html = str(module.timeline(picture))
    dt = time.perf_counter() - t0
rows = picture["rows"]
print(json.dumps({"seconds": dt, "rows": len(rows), "spans": sum(len(r["spans"]) for r in rows), "bytes": len(html)}))
"""


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--tasks", type=int, default=200, help="worker tasks (default 200)")
    p.add_argument("--ticks", type=int, default=288, help="ticks of history over the last day (default 288: every 5 min)")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    try:
        log(f"building a repository with {args.tasks} tasks in {base} ...")
        root, env = build(base / "big", args.tasks)
        log(f"inserting {args.ticks} ticks of history over a day ...")
        fill(root, args.ticks, span=timedelta(days=1), rate=0.02)
        orch_times, costs = [], []
        info: dict = {}
        timed([ORCH, "tick"], root, env)  # warm-up: compiled templates, page cache
        for _ in range(args.runs):
            orch_times.append(timed([ORCH, "tick"], root, env))
            t0 = time.perf_counter()
            info = json.loads(run([sys.executable, "-c", _MEASURE], root, env).stdout)
            log(f"  measured in {time.perf_counter() - t0:.2f}s")
            costs.append(info["seconds"])
        cost = statistics.median(costs)
        tick = statistics.median(orch_times)
        print(f"tasks {args.tasks}, ticks of history {args.ticks} over 1 day, runs {args.runs}")
        print(f"timeline rows {info['rows']}, spans {info['spans']}, HTML {info['bytes'] / 1000:.0f} kB")
        print(f"orch tick (with the timeline)      {fmt(orch_times)}")
        print(f"timeline alone (queries + HTML)    median {cost:.3f}s min {min(costs):.3f}s, "
              f"{cost / tick * 100:.1f}% of a tick")
        result("timeline", orch_times, [t - cost for t in orch_times], TARGET)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
