"""Do worker processes ever hang? Build every leaflet in every style, one `build.run` per
leaflet (a new Renderer, so a new Pango font map, before each fork), in two processes at
once, several rounds, and count the leaflets that hit the time limit.

Run from the repository:  python3 benchmarks/stress_workers.py [ROUNDS]   (about 1 min/round)

Why: Pango starts a thread each time a font configuration is made; a worker forked while
that thread held fontconfig's lock waited for ever (1 leaflet in about 240 before
handouts.limits._settle). A healthy result is "0 hung".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STYLES = ("standard", "large-print", "summary", "trifold")


def one_process(out: Path) -> tuple[int, int]:
    """(leaflets tried, leaflets that hit the time limit), in this process."""
    from handouts.build import Selection, plan, run
    from handouts.content import Library
    from handouts.errors import RenderError
    from handouts.paths import content_dir

    library = Library(content_dir())
    tried = hung = 0
    for style in STYLES:
        for treatment in library.treatments():
            jobs = plan(library, Selection([treatment], style=style, out_dir=out))
            tried += 1
            try:
                run(library, jobs)
            except RenderError as exc:
                hung += "took longer than" in str(exc)
    return tried, hung


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        tried, hung = one_process(Path(sys.argv[2]))
        print(tried, hung)
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    env = {**os.environ, "HANDOUTS_TIME_LIMIT": "30", "PYTHONPATH": str(REPO)}
    total = stuck = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(rounds):
            procs = [
                subprocess.Popen(
                    [sys.executable, __file__, "--one", f"{work}/{round_}-{i}"],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for i in range(2)
            ]
            for proc in procs:
                tried, hung = map(int, proc.communicate()[0].split())
                total += tried
                stuck += hung
            print(f"round {round_ + 1}: {total} leaflets so far, {stuck} hung", flush=True)
    print(f"{total} leaflets in {time.perf_counter() - started:.0f} s: {stuck} hung")


if __name__ == "__main__":
    main()
