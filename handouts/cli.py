"""The `handouts` command. It parses, calls the core, and prints; nothing else."""

from __future__ import annotations

import itertools
import json
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

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
def user_errors(
    interrupted: str = "Interrupted.", as_json: bool = False, built: list | None = None
) -> Iterator[None]:
    """Show a user's mistake as a short message and exit non-zero; let bugs keep tracebacks.
    Ctrl-C, SIGTERM and SIGHUP end the command with the `interrupted` message and exit
    code 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), after cleaning up.

    With `as_json` the error is also printed on stdout as a JSON object, for the program
    that asked for JSON: {"error": {"message", "exit_code", "problems"}}, and "built":
    the reports of the leaflets written before it (`built`), when there is such a list."""
    try:
        with _stop_signals():
            yield
    except UserError as exc:
        message = plain(str(exc))
        err(f"Error: {message}")
        code = int(exc.exit_status)
        if as_json:
            _json_error(message, code, getattr(exc, "problems", None), built)
        raise typer.Exit(code) from None
    except KeyboardInterrupt as exc:
        err(interrupted)
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        if as_json:
            _json_error(interrupted, 128 + int(signum), None, built, interrupted=True)
        raise typer.Exit(128 + int(signum)) from None


_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def ease_table(ease) -> str:
    """Reading ease of the translations: one line per language, leaflets averaged."""
    lines = ["Translations  leaflets  reading ease"]
    by_lang: dict[str, list] = {}
    for row in ease:
        by_lang.setdefault(row.lang, []).append(row)
    for lang, rows in by_lang.items():
        formula = rows[0].formula
        if formula is None:
            figure = "no formula for this language"
        else:
            scores = [r.score for r in rows]
            figure = (
                f"{sum(scores) / len(scores):.1f} {formula} (from {min(scores):.1f} to "
                f"{max(scores):.1f}; 60-70 is plain, higher is easier)"
            )
        lines.append(f"{lang:<12}  {len(rows):>8}  {figure}")
    return "\n".join(lines)


def plain(message: str) -> str:
    """A message without Python's descriptions of objects in memory (`<_io.BytesIO object
    at 0x7f...>`), which mean nothing to the person reading it. (They are best removed
    where they arise; this is the last safety net.)"""
    return _REPR.sub("", message)


def plain_data(data):
    """JSON-ready data with `plain` applied to every text in it."""
    if isinstance(data, str):
        return plain(data)
    if isinstance(data, dict):
        return {key: plain_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain_data(value) for value in data]
    return data


def _json_error(
    message: str,
    code: int,
    problems: list | None,
    built: list | None,
    interrupted: bool = False,
) -> None:
    error: dict = {"message": message, "exit_code": code}
    if interrupted:
        error["interrupted"] = True
    if problems:
        error["problems"] = [
            {
                "file": str(p.path),
                "line": p.line,
                "field": p.field or None,
                "message": plain(p.message),
            }
            for p in problems
        ]
    out: dict = {"error": error}
    if built is not None:
        out["built"] = [result.report() for result in built]
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


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
    list[str] | None,
    typer.Option(
        "--style",
        "-s",
        metavar="STYLE",
        help="standard, large-print, summary or trifold. Default: the clinic's.",
        show_default=False,
    ),
]
ClinicOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clinic",
        "-c",
        metavar="CLINIC",
        help="A clinic that comes with handouts (see 'handouts list'), or the "
        "path to your clinic folder. Default: neutral (blank lines for your details).",
        show_default=False,
    ),
]


def _library(content: Path | None):
    from .content import Library
    from .paths import content_dir

    return Library(content if content is not None else content_dir())


class JsonCommand(TyperCommand):
    """A command with --json: a mistake on the command line itself (an option without its
    value, an unknown option) is also printed on stdout as a JSON error object."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        wants_json = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            # Click's UsageError (Typer may bring its own copy of Click: matched by name).
            if wants_json and any(c.__name__ == "UsageError" for c in type(exc).__mro__):
                _json_error(exc.format_message(), exc.exit_code, None, None)
            raise


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


@app.command("list", cls=JsonCommand)
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
    with user_errors(as_json=as_json):
        library = _library(content)
        treatments = []
        for treatment in library.treatments():
            leaflets = {}
            unusable = []
            # The English first: a translation cannot be used while its English is broken,
            # and is then listed as broken without repeating the English file's problem.
            for lang in sorted(library.languages_of(treatment), key=lambda tag: tag != "en"):
                if lang not in library.ui_languages():
                    continue
                try:
                    leaflets[lang] = library.handout(treatment, lang)
                except UserError as exc:
                    unusable.append(lang)
                    if lang == "en" or "en" not in unusable:
                        broken.append(
                            {"treatment": treatment, "lang": lang, "problem": first_problem(exc)}
                        )
            treatments.append(
                {
                    "id": treatment,
                    "titles": {lang: leaflets[lang].title for lang in sorted(leaflets)},
                    "versions": {lang: leaflets[lang].review.version for lang in sorted(leaflets)},
                    "broken": sorted(unusable),
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
        typer.echo(json.dumps(plain_data(info), indent=2, ensure_ascii=False))
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
            err(plain(f"Broken: {what}: {b['problem']}"))
        count = (
            "1 file has mistakes and cannot be used until it is"
            if len(broken) == 1
            else f"{len(broken)} files have mistakes and cannot be used until they are"
        )
        err(f"{count} fixed; run 'handouts check' to see every problem.")
        raise typer.Exit(int(ExitStatus.ERROR))


def personal_option(flag: str, what: str, how: str = "", metavar: str = "TEXT"):
    return typer.Option(
        flag,
        metavar=metavar,
        help=f"Print {what} in the leaflet (only there){how}.",
        show_default=False,
    )


# Words a plain-language message can start with, so it reads on from the option's name:
# "--patient-name is too long"; any other message follows a colon: "--date: 30 February ...".
_READS_ON = {"is", "are", "should", "must", "has", "contains", "needs"}


def _personal(patient_name, treatment_date, clinician, next_appointment):
    """Check the personal details; errors name the option but never echo the value
    (a date that does not exist is named, in words, so that it can be put right)."""
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
        lines = []
        for e in exc.errors(include_url=False):
            message = friendly_message(e, PersonalDetails, e["loc"])
            joint = " " if message.split(" ", 1)[0] in _READS_ON else ": "
            lines.append(f"{flags[e['loc'][0]]}{joint}{message}")
        raise UserError("; ".join(lines)) from None


def _once(values: list[str] | None, flag: str) -> str | None:
    """The one value of an option that may be given once; a repeat is refused, not
    silently replaced by the last (the values are not shown: they may be personal)."""
    chosen = list(dict.fromkeys(values or []))
    if len(chosen) > 1:
        raise UserError(
            f"{flag} was given {len(values)} times with different values; give it once."
        )
    return chosen[0] if chosen else None


def _each(values: list[str] | None) -> list[str | None]:
    """Every value given for a repeatable option, once each; [None] (the default) if none."""
    return list(dict.fromkeys(values)) if values else [None]


def _millimetres(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip().lower().removesuffix("mm").strip()
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--bleed takes a size in millimetres, like 3mm (not '{value}').") from None


@app.command("build", cls=JsonCommand)
def build_command(
    treatments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TREATMENT",
            help="One or more treatment ids, as shown by 'handouts list'.",
            show_default=False,
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Build every treatment.")] = False,
    lang: Annotated[
        list[str] | None,
        typer.Option(
            "--lang",
            "-l",
            metavar="LANG",
            help="Language: en (your clinic's English), a variety: en-GB (British) or "
            "en-US (American), or es, fr, pt, zh-Hans, ar, vi ('handouts list' shows them). "
            "Repeat to build each: -l en -l es. Default: the clinic's.",
            show_default=False,
        ),
    ] = None,
    style: Annotated[
        list[str] | None,
        typer.Option(
            "--style",
            "-s",
            metavar="STYLE",
            help="standard, large-print, summary or trifold. Repeat to build each: "
            "-s summary -s trifold. Default: the clinic's.",
            show_default=False,
        ),
    ] = None,
    clinic: Annotated[
        list[str] | None,
        typer.Option(
            "--clinic",
            "-c",
            metavar="CLINIC",
            help="A clinic that comes with handouts (see 'handouts list'), or the "
            "path to your clinic folder; repeat to build for each. "
            "Default: neutral (blank lines for your details).",
            show_default=False,
        ),
    ] = None,
    paper: Annotated[
        list[str] | None,
        typer.Option(
            "--paper",
            metavar="PAPER",
            help="a4 or letter; repeat to build both. Default: the clinic's.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        list[Path] | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FOLDER",
            help="Folder to write the PDFs into. Default: output.",
            show_default=False,
        ),
    ] = None,
    bleed: Annotated[
        list[str] | None,
        typer.Option(
            "--bleed",
            metavar="SIZE",
            help="For a print shop: extra printed edge, e.g. 3mm.",
            show_default=False,
        ),
    ] = None,
    crop_marks: Annotated[
        bool, typer.Option("--crop-marks", help="For a print shop: marks showing where to cut.")
    ] = False,
    patient_name: Annotated[
        list[str] | None, personal_option("--patient-name", "the patient's name")
    ] = None,
    treatment_date: Annotated[
        list[str] | None,
        personal_option(
            "--date",
            "the date of treatment",
            ", best written YYYY-MM-DD, e.g. 2026-11-20: the leaflet then writes it the "
            "way its language writes dates",
            metavar="DATE",
        ),
    ] = None,
    clinician: Annotated[
        list[str] | None, personal_option("--clinician", "the clinician's name")
    ] = None,
    next_appointment: Annotated[
        list[str] | None, personal_option("--next-appointment", "the next appointment")
    ] = None,
    content: ContentOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop, with nothing written, on any warning about the clinic folder or its "
            "CSS (a rule that would be ignored, a logo far too large).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make PDF leaflets. Files go to OUT/<clinic>/<lang>/<treatment>-<style>-<paper>.pdf.

    --style, --paper, --lang and --clinic may be repeated: every treatment is made in
    each style, paper size, language and clinic asked for.

    The --patient-name, --date, --clinician and --next-appointment details are printed
    in the leaflet's "Prepared for you" box and nowhere else: not in file names, not in
    what this command prints. Without them, the box has lines to write on.
    """
    from .build import Selection, plan_each, run

    results: list = []
    with user_errors(interrupted=BUILD_INTERRUPTED, as_json=as_json, built=results):
        library = _library(content)
        if all_ and treatments:
            raise UserError("Give treatment names or --all, not both.")
        chosen = library.treatments() if all_ else (treatments or [])
        personal = _personal(
            _once(patient_name, "--patient-name"),
            _once(treatment_date, "--date"),
            _once(clinician, "--clinician"),
            _once(next_appointment, "--next-appointment"),
        )
        out_dir = Path(_once([str(p) for p in out or []], "--out") or "output")
        bleed_mm = _millimetres(_once(bleed, "--bleed"))
        selections = [
            Selection(
                chosen,
                lang=each_lang,
                style=each_style,
                paper=each_paper,
                clinic=each_clinic,
                out_dir=out_dir,
                bleed_mm=bleed_mm,
                crop_marks=crop_marks,
                personal=personal,
            )
            for each_clinic, each_lang, each_style, each_paper in itertools.product(
                _each(clinic), _each(lang), _each(style), _each(paper)
            )
        ]
        jobs = plan_each(library, selections)
        if not strict:  # with --strict, run() stops on them
            clinics = {job.clinic.folder: job.clinic for job in jobs}.values()
            for warning in (w for each in clinics for w in each.warnings):
                err(plain(f"Warning: {warning}"))

        def progress(index: int, total: int, result) -> None:
            results.append(result)
            if not as_json:
                pages = "1 page" if result.pages == 1 else f"{result.pages} pages"
                typer.echo(f"{result.job.path}  ({pages})")
            for warning in result.warnings:
                err(plain(f"Warning: {result.job.treatment}: {warning}"))
            if total > 1 and sys.stderr.isatty():
                err(f"[{index}/{total}] done")

        run(library, jobs, on_progress=progress, strict=strict)
    if as_json:
        typer.echo(json.dumps([r.report() for r in results], indent=2, ensure_ascii=False))


@app.command("check", cls=JsonCommand)
def check_command(
    content: ContentOpt = None,
    clinic: Annotated[
        list[str] | None,
        typer.Option(
            "--clinic",
            "-c",
            metavar="CLINIC",
            help="Also check this clinic (a bundled name or a folder); repeat for more. "
            "Default: the clinics that come with handouts.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Treat drafts no clinician has approved, overdue reviews, hard-to-read "
            "leaflets and every clinic warning (CSS that would be ignored, a misspelt block, "
            "the placeholder logo, no phone number) as errors, not warnings.",
        ),
    ] = False,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Skip making one leaflet in every style for each clinic (in memory); "
            "faster while you edit content, but templates and CSS are then only read.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check all leaflets (and clinics) before printing. Exit code 0 means no errors.

    For each clinic, one leaflet is made in every style, in memory, with the clinic's
    templates, stylesheets, fonts and logo, and checked as a build checks it: a clinic
    that passes 'handouts check' builds.
    """
    from .check import MAX_AVERAGE_GRADE, MAX_GRADE, check

    with user_errors(as_json=as_json):
        report = check(_library(content), clinic or (), strict=strict, render=not quick)
    if as_json:
        typer.echo(json.dumps(plain_data(report.to_json()), indent=2, ensure_ascii=False))
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
        if report.ease:
            typer.echo(ease_table(report.ease))
        for problem in report.warnings:
            err(plain(f"Warning: {problem}"))
        for problem in report.errors:
            err(plain(f"Error: {problem}"))
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
translate_app = typer.Typer(
    help="Hand the leaflets to a translator as a PO file, and take the translation back.",
    no_args_is_help=True,
)
app.add_typer(clinic_app, name="clinic")
app.add_typer(templates_app, name="templates")
app.add_typer(translate_app, name="translate")


@translate_app.command("export")
def translate_export_command(
    lang: Annotated[
        str, typer.Argument(help="The language to translate into, e.g. es or zh-Hans.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The PO file to write, e.g. es.po.")
    ],
    treatment: Annotated[
        list[str] | None,
        typer.Option(
            "--treatment",
            "-t",
            help="Only this leaflet (repeat for more). Without it: every leaflet and the labels.",
            show_default=False,
        ),
    ] = None,
    content: ContentOpt = None,
) -> None:
    """Write the English text with its current translation as a PO file for a translator.

    Each entry says which leaflet and field it is; a translation made from English that has
    changed since is marked fuzzy. Translate in any PO editor, then use 'translate import'.
    """
    from .output import write_atomic
    from .po import export_po

    with user_errors():
        data = export_po(_library(content), lang, treatment or ())
        if output.exists():  # it may hold a translator's work
            raise UserError(
                f"{output} already exists, and may hold a translator's work, so it was left "
                "alone. Import it first if it is translated, then give another file name."
            )
        write_atomic(output, data)
    typer.echo(f"Wrote {output}")


@translate_app.command("import")
def translate_import_command(
    po_file: Annotated[Path, typer.Argument(help="A PO file from 'translate export'.")],
    content: ContentOpt = None,
) -> None:
    """Write a translated PO file back into the leaflets' YAML files, keeping their comments.

    Nothing is written if any entry is wrong. A leaflet all of whose strings were translated
    from the current English is marked up to date; run 'handouts check' afterwards.
    """
    from .po import import_po

    with user_errors():
        changed = import_po(_library(content), po_file)
    if not changed:
        typer.echo("Nothing changed: the files already hold these translations.")
    for path, new in changed:
        typer.echo(f"{'Created' if new else 'Updated'} {path}")


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
    """Show which template files a leaflet uses, and every place looked in for each.
    One style and one clinic at a time."""
    from .build import available_styles
    from .clinic import load_clinic
    from .content import not_found
    from .templating import explain

    with user_errors():
        library = _library(content)
        if treatment not in library.treatments():
            raise not_found("treatment", treatment, library.treatments())
        loaded = load_clinic(_once(clinic, "--clinic"))
        style = _once(style, "--style") or loaded.brand.defaults.style
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
