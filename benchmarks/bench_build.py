"""How long handouts takes to make leaflets, where the time goes, and what memory it uses.

Run from the repository:  python3 benchmarks/bench_build.py   (about a minute on 2 cores)

It prints a plain-text report; nothing is written outside a temporary folder, which is
removed at the end. Times are wall-clock; each figure is the median and the minimum of
N repeated runs (the minimum is the least disturbed run, the median the typical one).

Sections:
  1. the whole `handouts build` command, as a fresh process (what a user waits for)
  2. the `weasyprint` command on the very same HTML and stylesheet (WeasyPrint's share),
     and the cost of starting Python and importing WeasyPrint
  3. warm renders in one process (what a batch pays per leaflet)
  4. a batch of every treatment for one clinic, with PDF sizes and page counts;
     4b. making every leaflet American, and one-page summary cards (shrink to fit)
  5. memory: peak RSS, and whether RSS grows across many renders with one Renderer
  6. WeasyPrint temporary folders left behind
  7. whether HarfBuzz-Subset is installed (WeasyPrint subsets fonts much faster with it)
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TREATMENT = "steroid-injections"
CLINIC = "riverside-dermatology"
STYLE = "standard"
PAPER = "a4"

N_COLD = 5
N_WARM = 20
N_BATCH = 3
N_MEMORY = 50


# --------------------------------------------------------------------------- helpers


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def summary(times: Sequence[float]) -> str:
    return f"median {ms(statistics.median(times))}   min {ms(min(times))}   (N={len(times)})"


def line(label: str, value: str) -> None:
    print(f"  {label:<34} {value}")


def time_calls(fn: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def time_command(cmd: Sequence[str], n: int, env: dict[str, str]) -> list[float]:
    """Wall time of a fresh process, n times; stop with its output if it fails."""

    def once() -> None:
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")

    return time_calls(once, n)


def rss_bytes() -> int:
    """Resident set size now, from /proc (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"


def leftover_folders(folder: Path) -> int:
    return sum(1 for p in folder.glob("weasyprint-*") if p.is_dir())


def weasyprint_script() -> str:
    """The real `weasyprint` script beside this Python, not a wrapper such as a pyenv shim."""
    beside = Path(sys.executable).parent / "weasyprint"
    return str(beside) if beside.is_file() else "weasyprint"


def dpkg_status(package: str) -> str:
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Status} ${Version}", package],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        return "unknown (no dpkg-query: not a Debian system)"
    if done.returncode != 0 or not done.stdout.startswith("install ok installed"):
        return "NOT installed"
    return "installed, version " + done.stdout.rsplit(" ", 1)[-1]


# --------------------------------------------------------------------------- benchmark


def main() -> None:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-handouts-"))
    sub_tmp = work / "tmp-subprocesses"  # TMPDIR for every subprocess
    own_tmp = work / "tmp-in-process"  # temp dir for this process's own renders
    sub_tmp.mkdir()
    own_tmp.mkdir()
    # Before WeasyPrint is imported, so any folder it makes here is counted.
    tempfile.tempdir = str(own_tmp)
    env = {**os.environ, "TMPDIR": str(sub_tmp)}

    import weasyprint
    from weasyprint.text import ffi

    from handouts import __version__
    from handouts.build import Selection, make_pdf, plan, render_job, run
    from handouts.clinic import load_clinic
    from handouts.content import Library
    from handouts.limits import default_workers
    from handouts.paths import content_dir, styles_dir
    from handouts.pdf import Renderer
    from handouts.templating import Page, build_context, make_env, render_html

    print("handouts build benchmark")
    line("python", f"{platform.python_version()} ({sys.executable})")
    line("weasyprint", weasyprint.__version__)
    line("handouts", __version__)
    line("cores", f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)")
    line("machine", f"{platform.system()} {platform.machine()}")
    line("leaflet", f"{TREATMENT}, clinic {CLINIC}, {STYLE}, {PAPER}")

    # 1. The whole command, as a user runs it.
    print(f"\n1. Cold command: python3 -m handouts build {TREATMENT} -c {CLINIC}")
    cold = time_command(
        [sys.executable, "-m", "handouts", "build", TREATMENT, "-c", CLINIC, "-o", str(work / "1")],
        N_COLD,
        env,
    )
    line("wall time", summary(cold))

    # 2. Bare WeasyPrint on exactly the HTML handouts renders for that leaflet.
    library = Library(content_dir())
    clinic = load_clinic(CLINIC)
    context = build_context(library, TREATMENT, library.locale("en-GB"), clinic, Page(PAPER, STYLE))
    html = render_html(make_env(clinic), context)
    html_file = work / "in.html"
    html_file.write_text(html, encoding="utf-8")
    css = styles_dir() / f"{STYLE}.css"
    script = weasyprint_script()
    out_pdf = str(work / "out.pdf")
    print(f"\n2. Bare WeasyPrint on the same HTML ({len(html):,} characters) and {css.name}")
    line("command", f"{script} -s {css.name} in.html out.pdf")
    bare = time_command([script, "-s", str(css), str(html_file), out_pdf], N_COLD, env)
    line("weasyprint command", summary(bare))
    bare_ua = time_command(
        [script, "-s", str(css), "--pdf-variant", "pdf/ua-1", str(html_file), out_pdf],
        N_COLD,
        env,
    )
    line("  with --pdf-variant pdf/ua-1 *", summary(bare_ua))
    start_only = time_command([sys.executable, "-c", "pass"], N_COLD, env)
    line('python3 -c "pass"', summary(start_only))
    importing = time_command([sys.executable, "-c", "import weasyprint"], N_COLD, env)
    line('python3 -c "import weasyprint"', summary(importing))
    share = statistics.median(bare_ua) / statistics.median(cold)
    line("bare pdf/ua-1 / cold command", f"{share:.0%} (medians)")
    print("  * handouts itself renders PDF/UA-1, so this row is the like-for-like one")

    # 3. Warm renders in one process.
    print(f"\n3. Warm in-process: one Renderer, render_job x {N_WARM}")
    job = plan(library, Selection([TREATMENT], clinic=CLINIC, out_dir=work / "3"))[0]
    job_env = make_env(job.clinic)
    with Renderer() as renderer:
        first = time_calls(lambda: render_job(library, job, renderer, job_env), 1)
        warm = time_calls(lambda: render_job(library, job, renderer, job_env), N_WARM)
        inside = time_calls(lambda: make_pdf(library, job, renderer, job_env), N_WARM)
    line("first render (new Renderer)", ms(first[0]).strip())
    line("warm renders (in a limited worker)", summary(warm))
    line("the same, in this process (no limits)", summary(inside))
    line("cost of the worker process", ms(statistics.median(warm) - statistics.median(inside)))

    # 4. Every treatment for one clinic in one process, as `build --all` does.
    treatments = library.treatments()
    workers = default_workers(len(treatments))
    print(f"\n4. Batch: all {len(treatments)} treatments for {CLINIC}, build.run")
    one_worker: list[float] = []
    for attempt in range(N_BATCH):
        jobs = plan(library, Selection(treatments, clinic=CLINIC, out_dir=work / f"4a-{attempt}"))
        start = time.perf_counter()
        run(library, jobs, workers=1)
        one_worker.append(time.perf_counter() - start)
    line("total, 1 worker", summary(one_worker))
    batch_times: list[float] = []
    results = []
    for attempt in range(N_BATCH):
        jobs = plan(library, Selection(treatments, clinic=CLINIC, out_dir=work / f"4-{attempt}"))
        start = time.perf_counter()
        results = run(library, jobs)
        batch_times.append(time.perf_counter() - start)
    line(f"total, {workers} workers (default)", summary(batch_times))
    speedup = statistics.median(one_worker) / statistics.median(batch_times)
    line("speed-up", f"{speedup:.2f}x on {os.cpu_count()} cores")
    per_leaflet = [t / len(results) for t in batch_times]
    sizes = [r.size for r in results]
    pages = [r.pages for r in results]
    line("per leaflet (default workers)", summary(per_leaflet))
    line("per page", f"{statistics.median(batch_times) / sum(pages) * 1000:.0f} ms (median run)")
    line(
        "PDF size (bytes)",
        f"min {min(sizes):,}   median {statistics.median(sizes):,.0f}   max {max(sizes):,}",
    )
    line(
        "pages",
        f"min {min(pages)}   median {statistics.median(pages):g}   max {max(pages)}"
        f"   total {sum(pages)}",
    )

    # 4b. American English and the one-page card.
    print("\n4b. American English, and the summary card's fit to one page")
    us = Library(content_dir())
    start = time.perf_counter()
    for treatment in treatments:
        us.localised(treatment, us.locale("en-US"))
    line("make all leaflets American", f"{(time.perf_counter() - start) * 1000:.0f} ms in all")
    for clinic_name in (CLINIC, "harbour-skin-clinic"):
        jobs = plan(
            library,
            Selection(treatments, clinic=clinic_name, style="summary", out_dir=work / "4b"),
        )
        start = time.perf_counter()
        cards = run(library, jobs)
        took = time.perf_counter() - start
        line(
            f"summary cards, {clinic_name}",
            f"{took:.1f} s for {len(cards)} ({took / len(cards) * 1000:.0f} ms each; "
            "a card that needs smaller type is rendered again)",
        )

    # 5. Memory.
    print("\n5. Memory")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    line("peak RSS of handouts itself", mib(peak_kib * 1024))
    worker_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    line("peak RSS of the largest worker", mib(worker_kib * 1024))
    # What one worker does for every leaflet it makes, here in one process, to see
    # whether memory grows from leaflet to leaflet.
    with Renderer() as renderer:
        for _ in range(3):  # warm up: fonts, stylesheet and caches loaded
            make_pdf(library, job, renderer, job_env)
        gc.collect()
        readings = [rss_bytes()]
        for index in range(1, N_MEMORY + 1):
            make_pdf(library, job, renderer, job_env)
            if index in (N_MEMORY // 2, N_MEMORY):
                gc.collect()
                readings.append(rss_bytes())
    before, middle, after = readings
    half = N_MEMORY // 2
    line(f"RSS before {N_MEMORY} warm renders", mib(before))
    line(f"RSS after {half}", f"{mib(middle)}   ({(middle - before) / 1024:+,.0f} KiB)")
    line(f"RSS after {N_MEMORY}", f"{mib(after)}   ({(after - before) / 1024:+,.0f} KiB)")
    line(f"growth over the last {N_MEMORY - half}", f"{(after - middle) / 1024:+,.0f} KiB")

    # 6. Temporary folders WeasyPrint may leave (it makes them for @font-face fonts).
    print("\n6. Leftover weasyprint-* folders")
    subprocess_runs = len(cold) + len(bare) + len(bare_ua) + len(start_only) + len(importing)
    line(f"subprocess TMPDIR ({subprocess_runs} runs)", str(leftover_folders(sub_tmp)))
    line("this process's temp dir", str(leftover_folders(own_tmp)))

    # 7. HarfBuzz-Subset.
    print("\n7. HarfBuzz-Subset (font subsetting; without it WeasyPrint uses slow fontTools)")
    line("libharfbuzz-subset0 (dpkg)", dpkg_status("libharfbuzz-subset0"))
    line("loaded by WeasyPrint", "yes" if ffi.harfbuzz_subset is not None else "no")

    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    shutil.rmtree(work)  # the temp folders were counted above


if __name__ == "__main__":
    main()
