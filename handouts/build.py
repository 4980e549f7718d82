"""Plan which leaflets to make, then make them.

`plan()` checks every name and every input before anything is written, so a
mistake anywhere stops the whole build with nothing half done. `run()` renders
and writes, reporting progress through a callback (the CLI draws the progress).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .clinic import Clinic, load_clinic
from .content import Library, not_found
from .errors import ContentError, RenderError, UserError
from .limits import default_workers, run_all, run_limited
from .models import PersonalDetails
from .output import OutputFolders, Owner, check_writable, output_path
from .paths import styles_dir
from .pdf import RenderedPdf, Renderer
from .styles import available_styles, check_layout, fit_css, style_info
from .templating import Page, build_context, make_env, render_html, template_roots

PAPERS = ("a4", "letter")
MAX_BLEED_MM = 10


@dataclass(frozen=True)
class Selection:
    """What the user asked for; None means "the clinic's default"."""

    treatments: Sequence[str]
    lang: str | None = None
    style: str | None = None
    paper: str | None = None
    clinic: str | None = None
    out_dir: Path = Path("output")
    bleed_mm: float | None = None  # print-shop bleed around the trimmed page
    crop_marks: bool = False
    personal: PersonalDetails = field(default_factory=PersonalDetails)  # leaflet only


@dataclass(frozen=True)
class Job:
    treatment: str
    lang: str  # the variety printed: en-GB, en-US (or a plain language)
    clinic: Clinic
    path: Path
    page: Page  # paper, style and print-shop settings
    personal: PersonalDetails = field(default_factory=PersonalDetails)

    @property
    def style(self) -> str:
        return self.page.style

    @property
    def paper(self) -> str:
        return self.page.paper


@dataclass
class Result:
    job: Job
    pages: int
    size: int
    warnings: list[str] = field(default_factory=list)

    def report(self) -> dict:
        return {
            "treatment": self.job.treatment,
            "lang": self.job.lang,
            "style": self.job.style,
            "clinic": self.job.clinic.name,
            "paper": self.job.paper,
            "path": str(self.job.path),
            "pages": self.pages,
            "bytes": self.size,
            "warnings": self.warnings,
        }


def plan(library: Library, selection: Selection) -> list[Job]:
    """Resolve defaults, check every name and load every input; raise before writing anything."""
    clinic = load_clinic(selection.clinic)
    defaults = clinic.brand.defaults
    locale = library.resolve_locale(selection.lang, defaults.language)
    lang = locale.tag
    style = selection.style or defaults.style
    paper = (selection.paper or defaults.paper).lower()
    if style not in available_styles():
        raise not_found("style", style, available_styles())
    if paper not in PAPERS:
        raise not_found("paper size", paper, PAPERS)
    bleed = selection.bleed_mm
    if bleed is not None and not 0 <= bleed <= MAX_BLEED_MM:
        raise UserError(f"--bleed must be between 0 and {MAX_BLEED_MM} mm (print shops ask for 3).")
    page = Page(
        paper,
        style,
        landscape=style_info(style).landscape,
        bleed_mm=bleed,
        crop_marks=selection.crop_marks,
    )
    if not selection.treatments:
        raise UserError("Name at least one treatment, or use --all. 'handouts list' shows them.")
    for treatment in selection.treatments:
        library.require(treatment, locale.language)

    problems = []
    jobs = []
    for treatment in dict.fromkeys(selection.treatments):
        try:
            library.localised(treatment, locale)
        except ContentError as exc:
            problems.extend(exc.problems)
        path = output_path(
            selection.out_dir,
            clinic.name,
            lang,
            treatment,
            style,
            paper,
            for_print_shop=page.for_print_shop,
        )
        check_writable(path)
        jobs.append(Job(treatment, lang, clinic, path, page, selection.personal))
    try:
        library.localised_labels(locale)
    except ContentError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ContentError(problems)
    return jobs


def plan_each(library: Library, selections: Iterable[Selection]) -> list[Job]:
    """Plan several selections as one build (one per style, paper, language and clinic
    asked for, with `--style summary --style trifold`): every one is checked before anything
    is written, and the mistakes in content found for any of them are reported together.
    A leaflet asked for twice (`-l en -l en-GB`, when en means en-GB) is made once."""
    jobs: dict[tuple[Path, Path], Job] = {}
    problems = []
    for selection in selections:
        try:
            planned = plan(library, selection)
        except ContentError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
            continue
        for job in planned:
            # Keyed by clinic folder too: two clinics of the same name still meet, and
            # are refused, when their folders are claimed (run()).
            jobs.setdefault((job.path, job.clinic.folder), job)
    if problems:
        raise ContentError(problems)
    return list(jobs.values())


def render_job(library: Library, job: Job, renderer: Renderer, env=None) -> RenderedPdf:
    """The checked PDF for one job, in memory, made within the time and memory limits
    (handouts/limits.py): a clinic template that loops without end, or makes far too
    much, stops with a clear message instead of hanging or filling the memory."""
    env = env or make_env(job.clinic)
    renderer.warm_up(stylesheets_of(job), template_roots(job.clinic))
    what = f"The {describe(job)} leaflet"
    return renderer.once(run_limited(make_pdf, library, job, renderer, env, what=what), what)


def describe(job: Job) -> str:
    return f"{job.treatment} ({job.lang}, {job.style}, {job.paper}, clinic {job.clinic.name})"


_CHARACTER = re.compile(r"\(U\+([0-9A-F]{4,6})\)")


def _given_in(job: Job, message: str) -> str:
    """For a character no font has: which value the user gave holds it (a patient's name,
    a clinic field), so that they know what to retype."""
    from .verify import fields_of

    wanted = {chr(int(code, 16)) for code in _CHARACTER.findall(message)}
    holders = [f.name for f in fields_of(job) if wanted & set(f.value)]
    if not wanted or not holders:
        return ""
    return "\n  The character is in " + "; ".join(holders) + "."


LONG_VALUE = 120  # letters: a clinic value this long takes several lines of a leaflet


def _long_values(job: Job) -> str:
    """For a leaflet that does not fit its style: the long values the user gave (a clinic's
    department, a patient's name), which may be what pushes it over."""
    from .verify import fields_of

    long = [
        f"{f.name}: {len(f.value)} characters" for f in fields_of(job) if len(f.value) > LONG_VALUE
    ]
    if not long:
        return ""
    return "\n  Long values given for this leaflet, which may be what makes it too long: " + (
        "; ".join(long) + "."
    )


def stylesheets_of(job: Job) -> list[Path]:
    return [styles_dir() / f"{job.style}.css", *job.clinic.extra_css]


def _fitted(style, job: Job, renderer: Renderer, html: str, what: str, rtl: bool) -> RenderedPdf:
    """The leaflet at the largest text size the style allows (Style.fit_sizes) at which its
    pages, and a tri-fold's panels, come out as the style promises.

    The largest size is tried first (most leaflets fit at once), then the smallest: if even
    that does not fit, the leaflet is refused after two layouts instead of one per size;
    otherwise the sizes between are searched by halves."""
    sizes = style.fit_sizes or (None,)
    tried: dict[int, RenderedPdf | RenderError] = {}

    def attempt(index: int) -> RenderedPdf | RenderError:
        if index not in tried:
            try:
                pdf = renderer.render(
                    html,
                    base_url=job.clinic.folder,
                    roots=template_roots(job.clinic),
                    stylesheets=stylesheets_of(job),
                    css=fit_css(sizes[index]),
                    what=what,
                )
            except RenderError as exc:
                raise RenderError(str(exc) + _given_in(job, str(exc))) from None
            try:
                check_layout(style, pdf, f"The {what} leaflet", rtl=rtl)
                tried[index] = pdf
            except RenderError as exc:
                tried[index] = RenderError(str(exc) + _long_values(job))
        return tried[index]

    first = attempt(0)
    if not isinstance(first, RenderError):
        return first
    if len(sizes) == 1:
        raise first
    last = attempt(len(sizes) - 1)
    if isinstance(last, RenderError):
        raise last
    fits, too_big = len(sizes) - 1, 0  # the largest size known to fit; one known not to
    while fits - too_big > 1:
        middle = (fits + too_big) // 2
        if isinstance(attempt(middle), RenderError):
            too_big = middle
        else:
            fits = middle
    return tried[fits]


def make_pdf(library: Library, job: Job, renderer: Renderer, env) -> RenderedPdf:
    """Template, layout and checks for one job; run in a worker process (handouts/limits.py)
    by `render_job` and `run`."""
    locale = library.resolve_locale(job.lang, job.clinic.brand.defaults.language)
    context = build_context(library, job.treatment, locale, job.clinic, job.page, job.personal)
    html = render_html(env, context)
    what = describe(job)
    style = style_info(job.style)
    pdf = _fitted(style, job, renderer, html, what, rtl=locale.direction == "rtl")
    # On the laid-out pages: no text out of its box, panel or page, or over other text, and
    # the safety-critical parts printed and readable (handouts/verify.py).
    from .verify import verify_leaflet

    verify_leaflet(library, job, pdf, f"The {what} leaflet", style.min_text_pt)
    pdf.document = None  # WeasyPrint's boxes stay in the child; the PDF goes back
    return pdf


def run(
    library: Library,
    jobs: Sequence[Job],
    on_progress: Callable[[int, int, Result], None] | None = None,
    workers: int | None = None,
    strict: bool = False,
) -> list[Result]:
    """Render and write every job; the first failure stops the build with a clear error.

    Leaflets are made by `workers` processes at once (default: one per processor core),
    each within the time and memory limits (handouts/limits.py), and written here, in
    order, as they are done. Before anything is made, every output folder is claimed for
    its clinic: a folder that holds another clinic's leaflets (two clinic folders with the
    same name), or one inside the clinic folder itself, stops the build with nothing
    written. An interrupt (Ctrl-C, or SIGTERM turned into one by the command line) unwinds
    through here: the workers are stopped, the file being written is removed and the
    renderer's temporary font folder with it.

    `strict`: CSS that would be ignored, and a clinic's warnings (a logo far too large, a
    value hidden by a `#`), stop the build before anything is written."""
    warned = list(dict.fromkeys(w for job in jobs for w in job.clinic.warnings))
    if strict and warned:
        raise ContentError(warned)
    results = []
    envs = {job.clinic.folder: make_env(job.clinic) for job in jobs}
    with OutputFolders() as outputs:
        for job in jobs:
            outputs.claim(job.path, Owner.of(job.clinic.folder, job.clinic.display_name))
        with Renderer(strict=strict) as renderer:
            # Stylesheets read and fonts loaded once, here, for every worker.
            for job in jobs:
                renderer.warm_up(stylesheets_of(job), template_roots(job.clinic))

            def make(index: int) -> RenderedPdf:
                job = jobs[index]
                return make_pdf(library, job, renderer, envs[job.clinic.folder])

            def what(index: int) -> str:
                return f"The {describe(jobs[index])} leaflet"

            count = workers or default_workers(len(jobs))
            for index, pdf in run_all(make, len(jobs), what, count):
                job = jobs[index]
                pdf = renderer.once(pdf, what(index))
                outputs.write(job.path, pdf.data)
                result = Result(job, pdf.pages, len(pdf.data), pdf.warnings)
                results.append(result)
                if on_progress:
                    on_progress(index + 1, len(jobs), result)
    return results
