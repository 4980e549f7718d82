"""Plan which leaflets to make, then make them.

`plan()` checks every name and every input before anything is written, so a
mistake anywhere stops the whole build with nothing half done. `run()` renders
and writes, reporting progress through a callback (the CLI draws the progress).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .clinic import Clinic, load_clinic
from .content import Library, not_found
from .errors import ContentError, UserError
from .models import PersonalDetails
from .output import OutputFolders, Owner, check_writable, output_path
from .paths import styles_dir
from .pdf import Renderer
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


def render_job(library: Library, job: Job, renderer: Renderer, env=None):
    """The PDF for one job, in memory."""
    env = env or make_env(job.clinic)
    context = build_context(
        library, job.treatment, library.locale(job.lang), job.clinic, job.page, job.personal
    )
    html = render_html(env, context)
    what = f"{job.treatment} ({job.lang}, {job.style}, {job.paper}, clinic {job.clinic.name})"
    style = style_info(job.style)
    for size in style.fit_sizes or (None,):
        pdf = renderer.render(
            html,
            base_url=job.clinic.folder,
            roots=template_roots(job.clinic),
            stylesheets=[styles_dir() / f"{job.style}.css", *job.clinic.extra_css],
            css=fit_css(size),
            what=what,
        )
        if style.pages is None or pdf.pages == style.pages:
            break
    check_layout(style, pdf, f"The {what} leaflet")
    # On the laid-out pages: no text out of its box, panel or page, or over other text, and
    # the safety-critical parts printed and readable (handouts/verify.py).
    from .verify import verify_leaflet

    verify_leaflet(library, job, pdf, f"The {what} leaflet", style.min_text_pt)
    return pdf


def run(
    library: Library,
    jobs: Sequence[Job],
    on_progress: Callable[[int, int, Result], None] | None = None,
) -> list[Result]:
    """Render and write every job; the first failure stops the build with a clear error.

    Before anything is rendered, every output folder is claimed for its clinic: a folder
    that holds another clinic's leaflets (two clinic folders with the same name), or one
    inside the clinic folder itself, stops the build with nothing written. An interrupt
    (Ctrl-C, or SIGTERM turned into one by the command line) unwinds through here: the
    file being written is removed and the renderer's temporary font folder with it."""
    results = []
    envs: dict[Path, object] = {}
    with OutputFolders() as outputs:
        for job in jobs:
            outputs.claim(job.path, Owner.of(job.clinic.folder, job.clinic.display_name))
        with Renderer() as renderer:
            for index, job in enumerate(jobs, start=1):
                env = envs.setdefault(job.clinic.folder, make_env(job.clinic))
                pdf = render_job(library, job, renderer, env)
                outputs.write(job.path, pdf.data)
                result = Result(job, pdf.pages, len(pdf.data), pdf.warnings)
                results.append(result)
                if on_progress:
                    on_progress(index, len(jobs), result)
    return results
