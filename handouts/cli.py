"""The `handouts` command. It parses, calls the core, and prints; nothing else."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import ExitStatus, UserError

app = typer.Typer(
    name="handouts",
    help=(
        "Make printable PDF leaflets for patients having scar treatment, "
        "branded for your clinic.\n\n"
        "Start with 'handouts list' to see what is available, then "
        "'handouts build <treatment>'."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def err(message: str) -> None:
    typer.echo(message, err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP), raised like Ctrl-C so that the same clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


BUILD_INTERRUPTED = (
    "Interrupted. Nothing half-written was left behind: each leaflet listed above is "
    "complete, and the one being made was not written."
)


@contextmanager
def _stop_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an interrupt, as Ctrl-C is, for the length of a command.

    The interrupt unwinds through the build: the file being written is removed, and the
    renderer's temporary font folder with it. Once one signal has arrived, later Ctrl-C,
    SIGTERM or SIGHUP are ignored so that this clean-up finishes (SIGKILL still stops it).
    Signals a parent asked to ignore (nohup) stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.getsignal(signum) for signum in watched}

    def stop(signum, frame) -> None:
        for each in watched:
            signal.signal(each, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    try:
        for signum, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(signum, stop)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def user_errors(interrupted: str = "Interrupted.") -> Iterator[None]:
    """Show a user's mistake as a short message and exit non-zero; let bugs keep tracebacks.
    Ctrl-C, SIGTERM and SIGHUP end the command with the `interrupted` message and exit
    code 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), after cleaning up."""
    try:
        with _stop_signals():
            yield
    except UserError as exc:
        err(f"Error: {exc}")
        raise typer.Exit(int(exc.exit_status)) from None
    except KeyboardInterrupt as exc:
        err(interrupted)
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        raise typer.Exit(128 + int(signum)) from None


ContentOpt = Annotated[
    Path | None,
    typer.Option(
        "--content",
        help="Use this content folder instead of the one that comes with handouts.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for other programs.")]
StyleOpt = Annotated[
    str | None,
    typer.Option(
        "--style",
        "-s",
        help="standard, large-print, summary or trifold. Default: the clinic's.",
        show_default=False,
    ),
]
ClinicOpt = Annotated[
    str | None,
    typer.Option(
        "--clinic",
        "-c",
        help="A clinic that comes with handouts (see 'handouts list'), or the "
        "path to your clinic folder. Default: neutral (blank lines for your details).",
        show_default=False,
    ),
]


def _library(content: Path | None):
    from .content import Library
    from .paths import content_dir

    return Library(content if content is not None else content_dir())


def _version(value: bool) -> None:
    if value:
        typer.echo(f"handouts {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    pass


@app.command("list")
def list_command(content: ContentOpt = None, as_json: JsonOpt = False) -> None:
    """Show the treatments, languages, styles and clinics you can build.

    A leaflet (or a shared file: labels, references, varieties) with a mistake is listed as
    broken, with its first problem;
    the rest are listed as usual. The exit code is then 1: something cannot be built until
    it is fixed, and 'handouts check' shows every problem.
    """
    from .build import PAPERS, available_styles
    from .clinic import bundled_clinics
    from .errors import ContentError

    def first_problem(exc: UserError) -> str:
        if isinstance(exc, ContentError) and exc.problems:
            more = len(exc.problems) - 1
            return str(exc.problems[0]) + (f" (and {more} more)" if more else "")
        return str(exc)

    broken: list[dict] = []
    with user_errors():
        library = _library(content)
        treatments = []
        for treatment in library.treatments():
            leaflets = {}
            for lang in library.languages_of(treatment):
                if lang not in library.ui_languages():
                    continue
                try:
                    leaflets[lang] = library.handout(treatment, lang)
                except UserError as exc:
                    broken.append(
                        {"treatment": treatment, "lang": lang, "problem": first_problem(exc)}
                    )
            treatments.append(
                {
                    "id": treatment,
                    "titles": {lang: h.title for lang, h in leaflets.items()},
                    "versions": {lang: h.review.version for lang, h in leaflets.items()},
                    "broken": [b["lang"] for b in broken if b.get("treatment") == treatment],
                }
            )
        languages = {}
        for lang in library.languages():
            try:
                languages[lang] = library.labels(lang).language_name
            except UserError as exc:
                languages[lang] = "labels broken"
                broken.append({"file": f"ui/{lang}.yaml", "problem": first_problem(exc)})
        try:
            library.bibliography  # noqa: B018 - every leaflet prints its sources from it
        except UserError as exc:
            broken.append({"file": "references.yaml", "problem": first_problem(exc)})
        varieties = {}
        for tag in (t for lang in library.languages() for t in library.varieties_of(lang)):
            try:
                varieties[tag] = library.locale(tag).name
            except UserError as exc:
                varieties[tag] = "broken"
                broken.append({"file": f"locales/{tag}.yaml", "problem": first_problem(exc)})
        info = {
            "treatments": treatments,
            "languages": languages,
            "varieties": varieties,
            "styles": available_styles(),
            "papers": list(PAPERS),
            "clinics": bundled_clinics(),
            "broken": broken,
        }
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        width = max((len(t["id"]) for t in treatments), default=10)
        typer.echo("Treatments:")
        for t in treatments:
            title = t["titles"].get("en") or next(iter(t["titles"].values()), "")
            langs = [f"{lang} v{version}" for lang, version in t["versions"].items()]
            langs += [f"{lang} BROKEN" for lang in t["broken"]]
            title = title or "(has mistakes: see below)"
            typer.echo(f"  {t['id']:<{width}}  {title}  [{', '.join(langs)}]")
        typer.echo("Languages:  " + ", ".join(f"{k} ({v})" for k, v in info["languages"].items()))
        if info["varieties"]:
            typer.echo(
                "Varieties:  " + ", ".join(f"{k} ({v})" for k, v in info["varieties"].items())
            )
        from .styles import style_info

        typer.echo("Styles:")
        for style in info["styles"]:
            typer.echo(f"  {style:<{width}}  {style_info(style).description}")
        typer.echo("Paper:      " + ", ".join(info["papers"]))
        typer.echo("Clinics:    " + ", ".join(info["clinics"]) + "  (or a path to a clinic folder)")
    if broken:
        for b in broken:
            what = f"{b['treatment']} ({b['lang']})" if "treatment" in b else b["file"]
            err(f"Broken: {what}: {b['problem']}")
        count = (
            "1 file has mistakes and cannot be used until it is"
            if len(broken) == 1
            else f"{len(broken)} files have mistakes and cannot be used until they are"
        )
        err(f"{count} fixed; run 'handouts check' to see every problem.")
        raise typer.Exit(int(ExitStatus.ERROR))


def personal_option(flag: str, what: str):
    return typer.Option(flag, help=f"Print {what} in the leaflet (only there).", show_default=False)


def _personal(patient_name, treatment_date, clinician, next_appointment):
    """Check the personal details; errors name the option but never echo the value."""
    from pydantic import ValidationError

    from .models import PersonalDetails
    from .yamlfile import friendly_message

    flags = {
        "patient_name": "--patient-name",
        "treatment_date": "--date",
        "clinician": "--clinician",
        "next_appointment": "--next-appointment",
    }
    try:
        return PersonalDetails(
            patient_name=patient_name,
            treatment_date=treatment_date,
            clinician=clinician,
            next_appointment=next_appointment,
        )
    except ValidationError as exc:
        lines = [
            f"{flags[e['loc'][0]]} {friendly_message(e, PersonalDetails, e['loc'])}"
            for e in exc.errors(include_url=False)
        ]
        raise UserError("; ".join(lines)) from None


def _millimetres(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip().lower().removesuffix("mm").strip()
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--bleed takes a size in millimetres, like 3mm (not '{value}').") from None


@app.command("build")
def build_command(
    treatments: Annotated[
        list[str] | None,
        typer.Argument(
            help="One or more treatment ids, as shown by 'handouts list'.", show_default=False
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Build every treatment.")] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            "-l",
            help="Language: en (your clinic's English), or a variety: en-GB (British) or "
            "en-US (American). Default: the clinic's.",
            show_default=False,
        ),
    ] = None,
    style: StyleOpt = None,
    clinic: ClinicOpt = None,
    paper: Annotated[
        str | None,
        typer.Option("--paper", help="a4 or letter. Default: the clinic's.", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the PDFs into.")] = Path(
        "output"
    ),
    bleed: Annotated[
        str | None,
        typer.Option(
            "--bleed", help="For a print shop: extra printed edge, e.g. 3mm.", show_default=False
        ),
    ] = None,
    crop_marks: Annotated[
        bool, typer.Option("--crop-marks", help="For a print shop: marks showing where to cut.")
    ] = False,
    patient_name: Annotated[
        str | None, personal_option("--patient-name", "the patient's name")
    ] = None,
    treatment_date: Annotated[
        str | None, personal_option("--date", "the date of treatment")
    ] = None,
    clinician: Annotated[str | None, personal_option("--clinician", "the clinician's name")] = None,
    next_appointment: Annotated[
        str | None, personal_option("--next-appointment", "the next appointment")
    ] = None,
    content: ContentOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make PDF leaflets. Files go to OUT/<clinic>/<lang>/<treatment>-<style>-<paper>.pdf.

    The --patient-name, --date, --clinician and --next-appointment details are printed
    in the leaflet's "Prepared for you" box and nowhere else: not in file names, not in
    what this command prints. Without them, the box has lines to write on.
    """
    from .build import Selection, plan, run

    with user_errors(interrupted=BUILD_INTERRUPTED):
        library = _library(content)
        if all_ and treatments:
            raise UserError("Give treatment names or --all, not both.")
        chosen = library.treatments() if all_ else (treatments or [])
        personal = _personal(patient_name, treatment_date, clinician, next_appointment)
        selection = Selection(
            chosen,
            lang=lang,
            style=style,
            paper=paper,
            clinic=clinic,
            out_dir=out,
            bleed_mm=_millimetres(bleed),
            crop_marks=crop_marks,
            personal=personal,
        )
        jobs = plan(library, selection)

        def progress(index: int, total: int, result) -> None:
            if not as_json:
                typer.echo(f"{result.job.path}  ({result.pages} pages)")
            for warning in result.warnings:
                err(f"Warning: {result.job.treatment}: {warning}")
            if total > 1 and sys.stderr.isatty():
                err(f"[{index}/{total}] done")

        results = run(library, jobs, on_progress=progress)
    if as_json:
        typer.echo(json.dumps([r.report() for r in results], indent=2, ensure_ascii=False))


@app.command("check")
def check_command(
    content: ContentOpt = None,
    clinic: Annotated[
        list[str] | None,
        typer.Option(
            "--clinic",
            "-c",
            help="Also check this clinic (a bundled name or a folder); repeat for more. "
            "Default: the clinics that come with handouts.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Treat drafts no clinician has approved, overdue reviews and hard-to-read "
            "leaflets as errors, not warnings.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check all leaflets (and clinics) before printing. Exit code 0 means no errors."""
    from .check import MAX_AVERAGE_GRADE, MAX_GRADE, check

    with user_errors():
        report = check(_library(content), clinic or (), strict=strict)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        if report.readability:
            width = max(len(r.treatment) for r in report.readability)
            typer.echo(f"{'Leaflet':<{width}}  lang  words  grade  SMOG")
            for r in report.readability:
                flag = "  (too hard)" if r.fk_grade > MAX_GRADE else ""
                typer.echo(
                    f"{r.treatment:<{width}}  {r.lang:<4}  {r.words:>5}  "
                    f"{r.fk_grade:>5.1f}  {r.smog:>4.1f}{flag}"
                )
            typer.echo(
                f"Average grade {report.average_grade} (limits: each leaflet "
                f"{MAX_GRADE}, average {MAX_AVERAGE_GRADE}; Flesch-Kincaid)"
            )
        for problem in report.warnings:
            err(f"Warning: {problem}")
        for problem in report.errors:
            err(f"Error: {problem}")
        clinics = ", ".join(report.checked_clinics) or "none"
        summary = (
            f"Checked {report.checked_leaflets} leaflets and clinics: {clinics}. "
            f"{len(report.errors)} errors, {len(report.warnings)} warnings."
        )
        err(summary) if report.errors else typer.echo(summary)
    if not report.ok:
        raise typer.Exit(int(ExitStatus.ERROR))


@app.command("schema")
def schema_command(
    kind: Annotated[
        str,
        typer.Argument(help="Which file: leaflet, clinic, labels, references or locale."),
    ] = "leaflet",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the schema to this file instead of printing.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of a content file, for editor autocomplete and checks."""
    from .content import not_found
    from .output import write_text_safely
    from .schema import MARK, SCHEMAS, schema_text

    with user_errors():
        if kind not in SCHEMAS:
            raise not_found("kind of file", kind, SCHEMAS)
        text = schema_text(kind)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_text_safely(output, text, marker=MARK)
            typer.echo(str(output))


clinic_app = typer.Typer(help="Set up a clinic folder.", no_args_is_help=True)
templates_app = typer.Typer(
    help="See how the leaflet templates fit together.", no_args_is_help=True
)
app.add_typer(clinic_app, name="clinic")
app.add_typer(templates_app, name="templates")


@clinic_app.command("init")
def clinic_init_command(
    folder: Annotated[Path, typer.Argument(help="The new clinic folder to create.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Your clinic's name, as printed on leaflets.", show_default=False
        ),
    ] = None,
) -> None:
    """Create a clinic folder you can edit: brand file, placeholder logo, examples."""
    from .scaffold import init_clinic

    with user_errors():
        files = init_clinic(folder, name)
    typer.echo(f"Created {folder}:")
    for path in files:
        typer.echo(f"  {path.relative_to(folder)}")
    typer.echo(
        f"Next: edit {folder / 'clinic.yaml'}, then run\n"
        f"  handouts build steroid-injections --clinic {folder}"
    )


@templates_app.command("explain")
def templates_explain_command(
    treatment: Annotated[str, typer.Argument(help="A treatment id, as shown by 'handouts list'.")],
    clinic: ClinicOpt = None,
    style: StyleOpt = None,
    content: ContentOpt = None,
) -> None:
    """Show which template files a leaflet uses, and every place looked in for each."""
    from .build import available_styles
    from .clinic import load_clinic
    from .content import not_found
    from .templating import explain

    with user_errors():
        library = _library(content)
        if treatment not in library.treatments():
            raise not_found("treatment", treatment, library.treatments())
        loaded = load_clinic(clinic)
        style = style or loaded.brand.defaults.style
        if style not in available_styles():
            raise not_found("style", style, available_styles())
        steps = explain(loaded, treatment, style)
    typer.echo(
        f"Templates for {treatment} ({style} style, clinic {loaded.name}), "
        "in the order they are looked up:"
    )
    for step in steps:
        if step.how == "leaflet":
            head = f"{step.name}  (leaflet template{'' if step.used else ', not there'})"
        else:
            head = f"{step.name}  ({step.how}, asked for by {step.parent})"
        typer.echo(f"{'USED ' if step.used else 'tried'} {head}")
        for where, path, exists in step.tried:
            mark = "<- used" if path == step.used else ("" if exists else "not there")
            typer.echo(f"        {where:<8}  {path}  {mark}".rstrip())


@templates_app.command("variables")
def templates_variables_command() -> None:
    """List every variable a template can use, with what it holds."""
    from .templating import TEMPLATE_VARIABLES

    width = max(len(name) for name in TEMPLATE_VARIABLES)
    for name, help_text in TEMPLATE_VARIABLES.items():
        typer.echo(f"{name:<{width}}  {help_text}")


def main() -> None:
    app(prog_name="handouts")


if __name__ == "__main__":
    main()
