"""`handouts check --clinic`: find everything a build would find, before a build.

A clinic that passes `check` must build. So, besides the brand file itself (checked when
the clinic is loaded), this module:

- checks the defaults a build takes from the brand file (style, language);
- reads every template the clinic has, as a build would, and warns about a block that no
  built-in template has (a misspelt name is otherwise silently ignored), naming the
  nearest block; and says which styles a `handout.html` block override does not reach
  (a block the summary or tri-fold template defines itself, such as `page`);
- warns about what is left of the starter folder (the placeholder logo) and about a
  leaflet without the clinic's phone number;
- loads every stylesheet with the build's rules, then makes one leaflet in every style in
  memory, within the time and memory limits, with the clinic's templates, stylesheets,
  fonts and images, and with every check a build makes on the laid-out pages.

Warnings are errors with `--strict`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from jinja2 import TemplateNotFound, TemplateSyntaxError, nodes
from jinja2.sandbox import SecurityError

from .clinic import BRAND_FILE, Clinic
from .content import Library
from .errors import ContentError, Problem, UserError
from .paths import PACKAGE
from .yamlfile import line_of, load_yaml

STARTER_LOGO = PACKAGE / "starter" / "assets" / "logo.svg"
# Styles whose built-in template lays out its own `page` (and may define other blocks
# itself): the style, and its template.
OWN_TEMPLATES = {"summary": "summary.html", "trifold": "trifold.html"}


def check_clinic(
    library: Library, clinic: Clinic, *, strict: bool, render: bool = True
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for one clinic; with `strict`, the warnings are errors too."""
    errors: list[Problem] = []
    warnings: list[Problem] = list(clinic.warnings)
    problem = _brand_problem(clinic)  # clinic.yaml read once, for its line numbers
    errors += default_problems(library, clinic, problem)
    template_errors, template_warnings = template_problems(clinic)
    errors += template_errors
    warnings += template_warnings
    warnings += brand_warnings(clinic, problem)
    if render and not errors:
        render_errors, render_warnings = render_problems(library, clinic, strict=strict)
        errors += render_errors
        warnings += render_warnings
    if strict:
        return errors + warnings, []
    return errors, warnings


# Makes a Problem about clinic.yaml at the line of a field: (loc, field name, message).
BrandProblem = Callable[[tuple, str, str], Problem]


def _brand_problem(clinic: Clinic) -> BrandProblem:
    path = clinic.folder / BRAND_FILE
    try:
        tree = load_yaml(path)
    except UserError:
        tree = None

    def problem(loc: tuple, name: str, message: str) -> Problem:
        return Problem(path, line_of(tree, loc) if tree is not None else None, name, message)

    return problem


def default_problems(library: Library, clinic: Clinic, problem: BrandProblem) -> list[Problem]:
    """The style and language a build takes from `defaults` must exist."""
    from .styles import available_styles

    defaults = clinic.brand.defaults
    found = []
    styles = available_styles()
    if defaults.style not in styles:
        close = difflib.get_close_matches(defaults.style, styles, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        found.append(
            problem(
                ("defaults", "style"),
                "defaults.style",
                f"there is no style called '{defaults.style}'{hint}; use one of: "
                + ", ".join(styles),
            )
        )
    try:
        locale = library.resolve_locale(None, defaults.language)
    except UserError as exc:
        found.append(problem(("defaults", "language"), "defaults.language", _sentence(exc)))
        return found
    if not any(locale.language in library.languages_of(t) for t in library.treatments()):
        choices = sorted({*library.languages(), *library.locale_tags()})
        found.append(
            problem(
                ("defaults", "language"),
                "defaults.language",
                f"there are no leaflets in '{defaults.language}' yet; use one of: "
                + ", ".join(choices),
            )
        )
    return found


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:1].lower() + text[1:] if text else text


# --------------------------------------------------------------------------- templates


def template_problems(clinic: Clinic) -> tuple[list[Problem], list[Problem]]:
    """Syntax errors in the clinic's templates (errors); blocks no built-in template has,
    and styles a handout.html override does not reach (warnings)."""
    from .templating import confined, make_env

    folder = clinic.template_dir
    if not folder.is_dir():
        return [], []
    env = make_env(clinic)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for path in sorted(folder.rglob("*.html")):
        name = path.relative_to(folder).as_posix()
        try:
            confined(path, [clinic.folder], f"template '{name}'")
            tree = env.parse(path.read_text(encoding="utf-8"), name, str(path))
        except SecurityError as exc:
            errors.append(Problem(path, None, "", str(exc)))
            continue
        except TemplateSyntaxError as exc:
            errors.append(Problem(path, exc.lineno, "", f"template error: {exc.message}"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(Problem(path, None, "", f"the template cannot be read ({exc})"))
            continue
        parent = next(iter(tree.find_all(nodes.Extends)), None)
        if parent is None or not isinstance(parent.template, nodes.Const):
            continue
        known = _blocks_of(env, str(parent.template.value), set())
        if known is None:
            continue  # a parent that cannot be read: the render below reports it
        own = list(tree.find_all(nodes.Block))
        for block in own:
            if block.name not in known:
                close = difflib.get_close_matches(block.name, sorted(known), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                warnings.append(
                    Problem(
                        path,
                        block.lineno,
                        "",
                        f"block '{block.name}' is not in '{parent.template.value}', so it is "
                        f"never printed.{hint} 'handouts templates explain' lists the "
                        "templates; docs/customising.md lists the blocks.",
                    )
                )
        if name == "handout.html":
            warnings += _unreached(env, clinic, path, {b.name for b in own} & known)
    return errors, warnings


def _blocks_of(env, name: str, seen: set[str]) -> set[str] | None:
    """Every block name in template `name` and the templates it extends."""
    if name in seen:
        return set()
    seen.add(name)
    try:
        source, filename, _ = env.loader.get_source(env, name)
        tree = env.parse(source, name, filename)
    except (TemplateNotFound, TemplateSyntaxError, SecurityError, OSError, UnicodeDecodeError):
        return None
    found = {block.name for block in tree.find_all(nodes.Block)}
    for parent in tree.find_all(nodes.Extends):
        if isinstance(parent.template, nodes.Const):
            more = _blocks_of(env, str(parent.template.value), seen)
            if more is None:
                return None
            found |= more
    return found


def _unreached(env, clinic: Clinic, path: Path, overridden: set[str]) -> list[Problem]:
    """A block override in handout.html reaches every style that prints the block, except
    where a style's own template defines that block itself (the summary card and the
    tri-fold lay out their own `page`; the tri-fold has its own `references` and no
    `footer`)."""
    found = []
    for style, template in OWN_TEMPLATES.items():
        if (clinic.template_dir / template).is_file():
            continue  # the clinic has its own template for this style
        tree = env.parse(env.loader.get_source(env, f"base:{template}")[0])
        missed = sorted(overridden & {block.name for block in tree.find_all(nodes.Block)})
        if not missed:
            continue
        names = ", ".join(f"'{name}'" for name in missed)
        found.append(
            Problem(
                path,
                None,
                "",
                f"the {style} style lays out {names} its own way, so your block(s) {names} "
                f"are not used in {style} leaflets. To change them there too, put them in "
                f'templates/{template}, starting with {{% extends "base:{template}" %}}.',
            )
        )
    return found


# --------------------------------------------------------------------------- brand


def brand_warnings(clinic: Clinic, problem: BrandProblem) -> list[Problem]:
    """What is left of the starter folder, and a clinic without a phone number."""
    found = []
    starter = hashlib.sha256(STARTER_LOGO.read_bytes()).digest() if STARTER_LOGO.is_file() else b""
    for size in ("small", "medium", "large"):
        image = getattr(clinic.brand.logo, size)
        if image is None:
            continue
        file = clinic.folder / image.path
        try:
            same = file.is_file() and hashlib.sha256(file.read_bytes()).digest() == starter
        except OSError:
            same = False
        if same:
            found.append(
                problem(
                    ("logo", size, "path"),
                    f"logo.{size}.path",
                    f"'{image.path}' is still the placeholder logo from 'handouts clinic "
                    "init'; replace the file with your clinic's logo (and set its alt text)",
                )
            )
        elif image.alt.strip().lower() == "placeholder logo":
            found.append(
                problem(
                    ("logo", size, "alt"),
                    f"logo.{size}.alt",
                    "the alt text still says 'Placeholder logo'; describe your logo, e.g. "
                    "'Riverside Hospital logo'",
                )
            )
    if clinic.display_name and not clinic.brand.contact.phone:
        found.append(
            problem(
                ("contact",),
                "contact.phone",
                "no phone number: leaflets print a blank line where patients look for the "
                "number to call about problems. Add the clinic's number under contact",
            )
        )
    return found


# --------------------------------------------------------------------------- rendering


def render_problems(
    library: Library, clinic: Clinic, *, strict: bool
) -> tuple[list[Problem], list[Problem]]:
    """Make one leaflet in every style, in memory, as a build would (nothing is written)."""
    from .build import PAPERS, Job, describe, make_pdf, stylesheets_of
    from .limits import default_workers, run_all, run_limited
    from .pdf import RenderedPdf, Renderer
    from .styles import available_styles, style_info
    from .templating import Page, make_env, template_roots

    defaults = clinic.brand.defaults
    locale = library.resolve_locale(None, defaults.language)
    paper = defaults.paper.lower() if defaults.paper.lower() in PAPERS else PAPERS[0]
    jobs = []
    shortest = _shortest(library, locale)
    for style in available_styles():
        for treatment in _samples(library, clinic, style, locale, shortest):
            page = Page(paper, style, landscape=style_info(style).landscape)
            jobs.append(Job(treatment, locale.tag, clinic, Path("(in memory)"), page))
    if not jobs:
        return [], []
    errors: list[Problem] = []
    warnings: list[Problem] = []
    env = make_env(clinic)
    with Renderer(strict=strict) as renderer:
        try:
            for path in dict.fromkeys(p for job in jobs for p in stylesheets_of(job)):
                for message in renderer.check_stylesheet(path, template_roots(clinic)):
                    warnings.append(_placed(message, path))
            renderer.warm_up(stylesheets_of(jobs[0]), template_roots(clinic))
        except UserError as exc:
            return [_problem(clinic, exc)], warnings
        made: dict[int, RenderedPdf] = {}
        try:  # all at once; after an error, one at a time below, to report every style
            for index, pdf in run_all(
                lambda i: make_pdf(library, jobs[i], renderer, env),
                len(jobs),
                lambda i: f"The {describe(jobs[i])} leaflet",
                default_workers(len(jobs)),
            ):
                made[index] = pdf
        except UserError:
            pass
        for index, job in enumerate(jobs):
            what = f"The {describe(job)} leaflet"
            try:
                pdf = made.get(index) or run_limited(
                    make_pdf, library, job, renderer, env, what=what
                )
            except UserError as exc:
                errors.append(_problem(clinic, exc))
                continue
            for message in renderer.once(pdf, what).warnings:
                if message not in pdf.css_warnings:  # said above, with its file
                    warnings.append(_placed(message, clinic.folder, f"{job.style} style"))
    return errors, warnings


def _problem(clinic: Clinic, exc: UserError) -> Problem:
    if isinstance(exc, ContentError) and exc.problems:
        return exc.problems[0]
    return _placed(str(exc), clinic.folder)


_PLACE = re.compile(r"(?s)(/[^:\n]+?):(?:(\d+):)? (.*)")


def _placed(message: str, path: Path, name: str = "") -> Problem:
    """A Problem for `message`, at the file and line it starts with (`file:12: ...`), if
    it names one; else at `path`."""
    found = _PLACE.fullmatch(message)
    if found and Path(found[1]).exists():
        return Problem(Path(found[1]), int(found[2]) if found[2] else None, name, found[3])
    return Problem(path, None, name, message)


def _samples(
    library: Library, clinic: Clinic, style: str, locale, shortest: list[str]
) -> list[str]:
    """The leaflets to make in `style`: each one the clinic has its own template for, else
    `shortest`."""
    own = [
        t
        for t in library.treatments()
        if (clinic.template_dir / f"{t}.{style}.html").is_file()
        and locale.language in library.languages_of(t)
    ]
    return own or shortest


def _shortest(library: Library, locale) -> list[str]:
    """The leaflet with the least printed text (the likeliest to fit every style), if any."""
    sizes = []
    for treatment in library.treatments():
        if locale.language not in library.languages_of(treatment):
            continue
        try:
            printed = library.localised(treatment, locale).printed_text()
        except UserError:
            continue  # reported by the content checks
        sizes.append((sum(len(line) for line in printed), treatment))
    return [min(sizes)[1]] if sizes else []
