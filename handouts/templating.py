"""Turn a leaflet, its labels and a clinic into HTML with Jinja2.

Templates are input, not trusted code: they run in Jinja2's immutable sandbox with
autoescaping and strict undefined variables, and they are given plain data only
(records of text, numbers, lists; no objects with methods): every variable is listed,
with a line of help, in TEMPLATE_VARIABLES. The loader looks in the clinic's
`templates/` folder first, then in the built-in templates; `base:` reaches the
built-in template even when the clinic overrides it, so `{{ super() }}` works.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Formatter
from types import SimpleNamespace
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape
from pydantic import BaseModel

from . import __version__
from .clinic import Clinic
from .content import Library
from .errors import RenderError
from .locales import Locale
from .models import PersonalDetails
from .paths import templates_dir

PAGE_SIZES = {"a4": "A4", "letter": "letter"}


class ConfinedLoader(FileSystemLoader):
    """A FileSystemLoader that refuses files whose real location (after following links)
    is outside its folders, so a linked file cannot smuggle in outside content."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(root).resolve()) for root in self.searchpath):
            raise SecurityError(
                f"template '{template}' is a link to {real}, outside the template folders"
            )
        return source, filename, uptodate


def search_path(clinic: Clinic) -> list[Path]:
    """Where templates are looked for, in order: the clinic's, then the built-in ones."""
    own = [clinic.template_dir] if clinic.template_dir.is_dir() else []
    return [*own, templates_dir()]


# The longest text or list a template may make with * (a leaflet has about 30,000 letters).
MAX_MADE = 200_000


class LeafletSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, and `*` and `**` that cannot ask for gigabytes."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError(f"a template asked for a power of {right}; at most 64")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            made = len(seq) * count if isinstance(seq, str | list | tuple) else 0
            if isinstance(count, int) and made > MAX_MADE:
                raise SecurityError(
                    f"a template asked for {made:,} letters or items; at most {MAX_MADE:,}"
                )
        return operator.mul(left, right)


def make_env(clinic: Clinic) -> ImmutableSandboxedEnvironment:
    """A fresh, sandboxed template environment for one clinic (never shared globally)."""
    loader = ChoiceLoader(
        [
            ConfinedLoader([str(p) for p in search_path(clinic)]),
            PrefixLoader({"base": ConfinedLoader(str(templates_dir()))}, delimiter=":"),
        ]
    )
    env = LeafletSandbox(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rich"] = rich_text
    env.filters["fill"] = fill
    env.filters["css_string"] = css_string
    return env


def candidate_templates(treatment: str, style: str) -> list[str]:
    """Templates tried for a leaflet, most specific first."""
    return [f"{treatment}.{style}.html", f"{style}.html", "handout.html"]


# --------------------------------------------------------------------------- filters

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def rich_text(value: str) -> Markup:
    """Escape text, then allow `**bold**` and nothing else."""
    return Markup(_BOLD.sub(r"<strong>\1</strong>", str(escape(value))))


def fill(template: str, **values: Any) -> str:
    """Fill `{name}` slots in a label; values are escaped later by autoescaping.

    Only plain `{name}` slots are filled: no attributes, indexes, conversions or widths
    (str.format would read attributes the sandbox forbids and pad to any width asked).
    """
    out = []
    try:
        parts = list(Formatter().parse(str(template)))
    except ValueError:
        raise SecurityError(f"the text '{template}' has an unmatched {{ or }}") from None
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise SecurityError(
                f"the text '{template}' asks for '{{{name}...}}'; only plain slots such as "
                "{number} can be filled"
            )
        if name not in values:
            raise SecurityError(f"the text '{template}' needs a value for {{{name}}}")
        out.append(str(values[name]))
    return "".join(out)


def css_string(value: str) -> Markup:
    """A quoted CSS string that cannot end the string or the <style> element early."""
    out = []
    for ch in str(value):
        if ch in '"\\<>&' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup('"' + "".join(out) + '"')


def css_counter_content(label: str) -> Markup:
    """`Page {page} of {pages}` -> `"Page " counter(page) " of " counter(pages)`, in any order."""
    parts = []
    for literal, name, _, _ in Formatter().parse(label):
        if literal:
            parts.append(css_string(literal))
        if name:
            parts.append(Markup(f"counter({name})"))
    return Markup(" ").join(parts)


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Page:
    paper: str  # a4 | letter
    style: str
    landscape: bool = False
    bleed_mm: float | None = None
    crop_marks: bool = False

    @property
    def for_print_shop(self) -> bool:
        return bool(self.bleed_mm) or self.crop_marks


def _as_date(text: str | None, locale: Locale) -> str | None:
    """A date given as YYYY-MM-DD is printed the way the leaflet writes dates."""
    try:
        return locale.format_date(date.fromisoformat(text)) if text else text
    except ValueError:
        return text


def build_context(
    library: Library,
    treatment: str,
    locale: Locale,
    clinic: Clinic,
    page: Page,
    personal: PersonalDetails | None = None,
) -> dict[str, Any]:
    """Everything a template can use (the template API; see docs/customising.md)."""
    handout = library.localised(treatment, locale)
    labels = library.localised_labels(locale)
    bibliography = library.bibliography.references
    related = []
    for other in handout.related:
        langs = library.languages_of(other)
        if locale.language in langs:
            related.append({"id": other, "title": library.localised(other, locale).title})
        elif langs:
            related.append({"id": other, "title": library.handout(other, langs[0]).title})
    contact = clinic.brand.contact
    emergency_number = contact.emergency_number or labels.emergency_services
    review = handout.review
    signed = clinic.sign_off(treatment, locale.language, review)
    lang = locale.tag
    context = {
        "treatment": treatment,
        "lang": lang,
        "dir": labels.direction,
        "handout": handout,
        "labels": labels,
        "h": labels.headings,
        "clinic": clinic.brand,
        "clinic_name": clinic.display_name,
        "logo": clinic.logo,
        "contact": contact,
        "emergency_number": emergency_number,
        "colors": clinic.colours,
        "font_faces": clinic.font_faces,
        "fonts": clinic.brand.typography,
        "qr_uri": clinic.qr_uri(treatment, lang),
        "qr_url": clinic.qr_url(treatment, lang),
        "personal": personal or PersonalDetails(),
        "treatment_date": _as_date(personal.treatment_date if personal else None, locale),
        "page": page,
        "page_size": PAGE_SIZES[page.paper],
        "references": [
            bibliography[key] for key in handout.cited_keys() if bibliography[key].printed
        ],
        "related": related,
        # Until a clinician has signed this version off, the leaflet is a draft and says so
        # wherever it would otherwise say when it was last reviewed.
        "draft": signed is None,
        "approved_by": signed[0] if signed else None,
        "last_reviewed": locale.format_date(signed[1]) if signed else None,
        "next_review": locale.format_date(review.next_review),
        "page_counter": css_counter_content(labels.page_of),
        "keywords": ", ".join(["scar", treatment, handout.title]),
        "generator": f"handouts {__version__}",
        "needs_translation_review": bool(
            handout.translation and not handout.translation.clinically_reviewed
        ),
    }
    assert context.keys() == TEMPLATE_VARIABLES.keys(), "document every template variable"
    return {name: template_data(value) for name, value in context.items()}


def template_data(value: Any) -> Any:
    """Plain, read-only data for templates: a model or dataclass becomes a record of its
    fields (no methods), dates become YYYY-MM-DD text, paths become text."""
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return SimpleNamespace(**{name: template_data(getattr(value, name)) for name in fields})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return SimpleNamespace(**{f.name: template_data(getattr(value, f.name)) for f in fields})
    if isinstance(value, dict):
        return {str(k): template_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [template_data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"{type(value).__name__} is not plain data for a template")


# Every variable a template can use: the template API (`handouts templates variables`).
TEMPLATE_VARIABLES: dict[str, str] = {
    "treatment": "the leaflet's id, e.g. steroid-injections",
    "lang": "the language and variety printed, e.g. en-GB or en-US",
    "dir": "the writing direction of the language: ltr or rtl",
    "handout": "the leaflet's text for this variety: title, subtitle, purpose, key_points, "
    "helps, not_for, tell_doctor, what_happens, sessions, recovery, side_effects.common, "
    "side_effects.rare_serious, aftercare, sections (guides), call_clinic, urgent, "
    "emergency, when_you_call, questions, related, review.version; each point has .text",
    "labels": "every word printed around the content (content/ui/<lang>.yaml), in this variety",
    "h": "the section headings: labels.headings",
    "clinic": "the clinic's brand file: meta.name, meta.department, disclaimer, defaults, ...",
    "clinic_name": "the clinic's name as printed, or empty for the neutral clinic",
    "logo": "the header logo: uri (embedded), alt, position (left or right); or empty",
    "contact": "phone, after_hours, email, website, address (a list of lines), "
    "emergency_number, qr_url",
    "emergency_number": "the number to call in an emergency, or the words 'emergency services'",
    "colors": "the clinic's colours as #rrggbb: primary, foreground, background, emergency",
    "font_faces": "font files from the clinic folder: family, uri (embedded), weight, style",
    "fonts": "the clinic's typography: base.family and headings.family, where given",
    "qr_uri": "the QR code as an embedded SVG image, or empty",
    "qr_url": "the address the QR code opens, or empty",
    "personal": "details for one patient (patient_name, clinician, next_appointment), or empty",
    "treatment_date": "the date of treatment as the leaflet writes dates, or empty",
    "page": "the page settings: paper, style, landscape, bleed_mm, crop_marks",
    "page_size": "the CSS page size: A4 or letter",
    "references": "the printed sources, in order: each has short (and full, url)",
    "related": "other leaflets: each has id and title",
    "draft": "true until a clinician has signed this version off",
    "approved_by": "who signed this version off, or empty",
    "last_reviewed": "the date of the sign-off as the leaflet writes dates, or empty",
    "next_review": "when the leaflet is next due for review, as the leaflet writes dates",
    "page_counter": "CSS content for 'Page X of Y' in this language",
    "keywords": "keywords for the PDF's metadata",
    "generator": "handouts and its version, for the PDF's metadata",
    "needs_translation_review": "true for a translation no fluent clinician has checked yet",
}


def render_html(env: ImmutableSandboxedEnvironment, context: dict[str, Any]) -> str:
    """Render the most specific template for this leaflet; template mistakes become RenderErrors."""
    names = candidate_templates(context["treatment"], context["page"].style)
    try:
        template = env.select_template(names)
        return template.render(context)
    except TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise RenderError(f"{where}: template error: {exc.message}") from None
    except TemplateNotFound as exc:
        raise RenderError(
            f"template '{exc.name}' was not found (looked for: {', '.join(names)})"
        ) from None
    except SecurityError as exc:
        raise RenderError(
            f"{_where(exc)}a template tried something that is not allowed: {exc}"
        ) from None
    except UndefinedError as exc:
        raise RenderError(
            f"{_where(exc)}a template uses something that does not exist: {exc.message}"
        ) from None
    except TemplateError as exc:
        raise RenderError(f"{_where(exc)}template error: {exc}") from None
    except RecursionError as exc:
        where = _where(exc, repeating=True)
        if not where:  # still reading the template, not running it
            raise RenderError(
                f"{_reading_where(exc)}a template has too many brackets, tags or blocks "
                "inside one another to be read; simplify it."
            ) from None
        raise RenderError(
            f"{where}a template calls itself without end (a macro that calls itself, or a "
            "template that includes, imports or extends itself). Make it stop, or extend "
            'the built-in template as "base:<name>" instead of its own name.'
        ) from None
    except OverflowError as exc:
        if "MAX_RANGE" in str(exc):
            raise RenderError(
                f"{_where(exc)}a template asked for range() with more than {MAX_RANGE:,} "
                "numbers; a leaflet never needs that many: use a smaller range."
            ) from None
        raise RenderError(f"{_where(exc)}a template made a number too large: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # A template called something with the wrong kind of value: its mistake, not ours.
        raise RenderError(f"{_where(exc)}a template failed: {type(exc).__name__}: {exc}") from None


def _where(exc: BaseException, repeating: bool = False) -> str:
    """`file.html:12: ` for the innermost template line in a rendering error, if known.

    With `repeating` (a RecursionError), the line that recurs most often in the loop,
    preferring a clinic's template to a built-in one, and a block or macro (where an
    include or call is) to a template's top level: that is where the loop can be broken.
    """
    places = []
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".css")):
            # Jinja names a template's own code "top-level template code" ("root" before
            # it rewrites the traceback), a block "block 'name'", a macro "macro 'name'".
            top = tb.tb_frame.f_code.co_name.startswith(("top-level", "root"))
            places.append((name, tb.tb_lineno, not top))
        tb = tb.tb_next
    if not places:
        return ""
    if repeating:
        counts = Counter(places)
        built_in = str(templates_dir().resolve())

        def rank(place: tuple[str, int, bool]) -> tuple[bool, bool, int]:
            return not place[0].startswith(built_in), place[2], counts[place]

        # max() keeps the first of equals: reversed, the innermost place wins a tie.
        name, line, _ = max(reversed(places), key=rank)
        return f"{name}:{line}: "
    name, line, _ = places[-1]
    return f"{name}:{line}: "


def _reading_where(exc: BaseException) -> str:
    """`file.html:12: ` for where Jinja was reading or compiling a template, if known."""
    from jinja2.compiler import CodeGenerator
    from jinja2.parser import Parser

    place = ""
    tb = exc.__traceback__
    while tb is not None:
        reader = tb.tb_frame.f_locals.get("self")
        if isinstance(reader, Parser) and reader.filename:
            place = f"{reader.filename}:{reader.stream.current.lineno}: "
        elif isinstance(reader, CodeGenerator) and reader.filename:
            node = tb.tb_frame.f_locals.get("node")
            line = f":{node.lineno}" if getattr(node, "lineno", None) else ""
            place = f"{reader.filename}{line}: "
        tb = tb.tb_next
    return place


def template_roots(clinic: Clinic) -> list[Path]:
    return [templates_dir(), clinic.folder]


# --------------------------------------------------------------------------- explain


@dataclass(frozen=True)
class Lookup:
    """How one template name was found: every place tried, and the one used."""

    name: str
    how: str  # "leaflet", "extends", "include" or "import"
    parent: str | None  # the template that asked for it
    tried: tuple[tuple[str, Path, bool], ...]  # (where, path, exists)
    used: Path | None

    @property
    def origin(self) -> str | None:
        return next((where for where, path, _ in self.tried if path == self.used), None)


def _places(clinic: Clinic, name: str) -> list[tuple[str, Path]]:
    if name.startswith("base:"):
        return [("built-in", templates_dir() / name.removeprefix("base:"))]
    own = [("clinic", clinic.template_dir / name)] if clinic.template_dir.is_dir() else []
    return [*own, ("built-in", templates_dir() / name)]


def _lookup(clinic: Clinic, name: str, how: str, parent: str | None) -> Lookup:
    tried = tuple((where, path, path.is_file()) for where, path in _places(clinic, name))
    used = next((path for _, path, exists in tried if exists), None)
    return Lookup(name, how, parent, tried, used)


def explain(clinic: Clinic, treatment: str, style: str) -> list[Lookup]:
    """Every template a leaflet would use, in the order they are looked up."""
    from jinja2 import nodes

    env = make_env(clinic)
    steps: list[Lookup] = []
    for name in candidate_templates(treatment, style):
        step = _lookup(clinic, name, "leaflet", None)
        steps.append(step)
        if step.used:
            break
    queue = [steps[-1]] if steps[-1].used else []
    seen = {(steps[-1].name, steps[-1].used)}
    kinds = {
        nodes.Extends: "extends",
        nodes.Include: "include",
        nodes.Import: "import",
        nodes.FromImport: "import",
    }
    while queue:
        current = queue.pop(0)
        try:
            tree = env.parse(current.used.read_text(encoding="utf-8"))
        except TemplateSyntaxError as exc:
            raise RenderError(
                f"{current.used}:{exc.lineno}: template error: {exc.message}"
            ) from None
        for node in tree.find_all(tuple(kinds)):
            if not isinstance(node.template, nodes.Const):
                continue  # a name computed while rendering: cannot be known in advance
            name = node.template.value
            step = _lookup(clinic, name, kinds[type(node)], current.name)
            if (name, step.used) in seen:
                continue
            seen.add((name, step.used))
            steps.append(step)
            if step.used:
                queue.append(step)
    return steps
