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
import difflib
import operator
import re
from collections import Counter
from collections.abc import Sequence
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
    Undefined,
    UndefinedError,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import internalcode
from markupsafe import Markup, escape
from pydantic import BaseModel

from . import __version__
from .clinic import Clinic
from .content import Library
from .errors import RenderError
from .locales import Locale, isolate_ltr
from .models import PersonalDetails
from .paths import templates_dir
from .translations import SOURCE_LANG, needs_review

PAGE_SIZES = {"a4": "A4", "letter": "letter"}


class ConfinedLoader(FileSystemLoader):
    """A FileSystemLoader that refuses, before reading it, a template whose real location
    (after following links) is outside `confine` (the clinic folder, or the built-in
    templates), so a linked file or folder cannot smuggle in outside content."""

    def __init__(self, searchpath: Sequence[Path], confine: Sequence[Path]) -> None:
        super().__init__([str(p) for p in searchpath])
        self.confine = [Path(root).resolve() for root in confine]

    def get_source(self, environment, template):
        pieces = split_template_path(template)
        for folder in self.searchpath:
            path = Path(folder, *pieces)
            if path.is_file():
                confined(path, self.confine, f"template '{template}'")
                break
        return super().get_source(environment, template)


def confined(path: Path, roots: Sequence[Path], what: str) -> Path:
    """`path`, if its real location (after following links) is inside one of `roots`;
    else a SecurityError, raised before the file is read."""
    real = path.resolve()
    if not any(real.is_relative_to(Path(root).resolve()) for root in roots):
        raise SecurityError(
            f"{what} ({path}) is a link to {real}, outside the clinic folder and the built-in "
            "templates; copy the file into the clinic folder instead"
        )
    return real


def search_path(clinic: Clinic) -> list[Path]:
    """Where templates are looked for, in order: the clinic's, then the built-in ones."""
    own = [clinic.template_dir] if clinic.template_dir.is_dir() else []
    return [*own, templates_dir()]


# The longest text or list a template may make with * (a leaflet has about 30,000 letters).
MAX_MADE = 200_000
# The longest text one {{ ... }} may print (embedded files, data: URIs, are not counted),
# and how much HTML a leaflet may have besides its embedded files (it has about 100 KB).
MAX_PRINTED = 1_000_000
MAX_HTML = 5_000_000


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


class MissingValue(UndefinedError):
    """A template used something that is not there; keeps what it asked for (`undefined`),
    so that the message can name it as the template does (see `_missing`)."""

    def __init__(self, message: str | None = None, undefined: Undefined | None = None):
        super().__init__(message)
        self.undefined = undefined


class _Strict(StrictUndefined):
    """Jinja2's StrictUndefined, raising MissingValue instead of a bare UndefinedError."""

    __slots__ = ()

    @internalcode
    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self._undefined_obj, Undefined):  # the first thing that went wrong
            self._undefined_obj._fail_with_undefined_error()
        if self._undefined_exception is not UndefinedError:  # the sandbox's SecurityError
            raise self._undefined_exception(self._undefined_message)
        raise MissingValue(self._undefined_message, self)


for _name, _value in [*vars(Undefined).items(), *vars(StrictUndefined).items()]:
    if _value is Undefined._fail_with_undefined_error and _name != "_fail_with_undefined_error":
        setattr(_Strict, _name, _Strict._fail_with_undefined_error)


def make_env(clinic: Clinic) -> ImmutableSandboxedEnvironment:
    """A fresh, sandboxed template environment for one clinic (never shared globally)."""
    built_in = [templates_dir()]
    loader = ChoiceLoader(
        [
            ConfinedLoader(search_path(clinic), confine=[clinic.folder, *built_in]),
            PrefixLoader({"base": ConfinedLoader(built_in, confine=built_in)}, delimiter=":"),
        ]
    )
    env = LeafletSandbox(
        loader=loader,
        autoescape=True,
        undefined=_Strict,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.finalize = _printable
    # Leaflets have no use for made-up Latin, and lipsum(n) can make any amount of it.
    env.globals.pop("lipsum", None)
    env.filters["rich"] = rich_text
    env.filters["fill"] = fill
    env.filters["css_string"] = css_string
    return env


def candidate_templates(treatment: str, style: str) -> list[str]:
    """Templates tried for a leaflet, most specific first."""
    return [f"{treatment}.{style}.html", f"{style}.html", "handout.html"]


def _printable(value: Any) -> Any:
    """Every value a template prints passes here: no text longer than MAX_PRINTED, and no
    Python description of a record, list or function (`namespace(title=...)`,
    `<built-in method upper of str object at 0x7f...>`) printed into a leaflet."""
    if isinstance(value, str) and len(value) > MAX_PRINTED and not value.startswith("data:"):
        raise SecurityError(
            f"a template printed a text of {len(value):,} letters; at most {MAX_PRINTED:,} "
            "(a whole leaflet has about 30,000)"
        )
    if isinstance(value, str | int | float | Undefined) or value is None:
        return value
    if isinstance(value, SimpleNamespace | dict):
        fields = ", ".join(
            str(name) for name in (vars(value) if isinstance(value, SimpleNamespace) else value)
        )
        raise TypeError(
            f"it prints a whole record (with the fields {fields or 'none'}) instead of one "
            "of its fields; print a field, as in {{ handout.title }}"
        )
    if isinstance(value, list | tuple):
        raise TypeError(
            f"it prints a whole list ({len(value)} items) instead of its items; go through "
            "them with {% for item in ... %}{{ item }}{% endfor %}, or join them, as in "
            "{{ contact.address | join(', ') }}"
        )
    if callable(value):
        raise TypeError(
            "it prints a function instead of what the function gives; call it by adding "
            "brackets, as in {{ handout.title.upper() }}, or leave it out"
        )
    return value


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
    # In a right-to-left label, a filled-in number or name keeps its own order.
    return isolate_ltr("".join(out))


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


_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")


def _as_date(text: str | None, locale: Locale) -> str | None:
    """A date given as YYYY-MM-DD (or YYYY-M-D) is printed the way the leaflet writes
    dates; other text ("Tuesday 3 March") is printed as given."""
    found = _ISO_DATE.fullmatch(text or "")
    if not found:
        return text
    try:
        return locale.format_date(date(*(int(part) for part in found.groups())))
    except ValueError:  # refused earlier, by PersonalDetails; printed as given otherwise
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
    # A translation is signed off with its English leaflet (its own review is its record's).
    signed = clinic.sign_off(
        treatment, SOURCE_LANG if handout.translation else locale.language, review
    )
    lang = locale.tag
    context = {
        "treatment": treatment,
        "lang": lang,
        "dir": labels.direction,
        "handout": handout,
        "labels": labels,
        "h": labels.headings,
        "clinic": clinic.brand.in_language(locale.language),
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
        "needs_translation_review": needs_review(handout.translation, labels.translation),
    }
    assert context.keys() == TEMPLATE_VARIABLES.keys(), "document every template variable"
    data = {name: template_data(value) for name, value in context.items()}
    if labels.direction == "rtl":  # "5-FU" keeps its order in an Arabic line
        data["handout"] = _isolated(data["handout"])
    return data


def _isolated(value: Any) -> Any:
    """Template data with the Latin runs of its right-to-left text set apart."""
    if isinstance(value, str):
        return isolate_ltr(value)
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{k: _isolated(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [_isolated(v) for v in value]
    return value


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
        return _joined(template.generate(context), MAX_HTML + _embedded_size(context))
    except TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise RenderError(f"{where}: template error: {exc.message}") from None
    except TemplateNotFound as exc:
        raise RenderError(_not_found(env, exc, names)) from None
    except SecurityError as exc:
        raise RenderError(
            f"{_where(exc)}a template tried something that is not allowed: {_plain_words(exc)}"
        ) from None
    except UndefinedError as exc:
        raise RenderError(
            f"{_where(exc)}a template uses something that does not exist: {_missing(exc, context)}"
        ) from None
    except TemplateError as exc:
        raise RenderError(f"{_where(exc)}template error: {_plain_words(exc)}") from None
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
        raise RenderError(f"{_where(exc)}a template failed: {_plain_words(exc)}") from None


# ------------------------------------------------------------- messages in plain words

# How Python names the kinds of value a template is given, and how a message says them.
_KINDS = {
    "types.SimpleNamespace": "a record",
    "SimpleNamespace": "a record",
    "namespace": "a record",
    "dict": "a record",
    "NoneType": "an empty value",
    "None": "an empty value",
    "str": "text",
    "Markup": "text",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
    "tuple": "a list",
    "range": "a range of numbers",
}


def _kind(value: Any) -> str:
    """`a record`, `text`, `a list`... for the value's Python type."""
    if value is None:
        return "an empty value"
    name = type(value).__name__
    return _KINDS.get(name, f"a {name}")


def _kind_of_name(name: str) -> str:
    return _KINDS.get(name, f"a {name.rpartition('.')[2]}")


_REWORDED: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"unsupported operand type\(s\) for (.+?): '([\w.]+)' and '([\w.]+)'"),
        lambda m: f"cannot use {m[1]} with {_kind_of_name(m[2])} and {_kind_of_name(m[3])}",
    ),
    (
        re.compile(r'can only concatenate str \(not "([\w.]+)"\) to str'),
        lambda m: (
            f"cannot join text and {_kind_of_name(m[1])} with +; join them with ~ "
            "instead, as in {{ a ~ b }}"
        ),
    ),
    (
        re.compile(r"'([\w.]+)' object is not iterable"),
        lambda m: f"{_kind_of_name(m[1])} cannot be looped over with 'for'; loop over a list",
    ),
    (
        re.compile(r"'([\w.]+)' object is not callable"),
        lambda m: f"{_kind_of_name(m[1])} cannot be called with (); leave out the brackets",
    ),
    (
        re.compile(r"access to attribute '(.+?)' of '([\w.]+)' object is unsafe\.?"),
        lambda m: (
            f"'{m[1]}' is off limits to templates (nothing whose name starts with _ is)"
            if m[1].startswith("_")
            else f"'{m[1]}' of {_kind_of_name(m[2])} is off limits: templates cannot change "
            "what they are given"
        ),
    ),
    (re.compile(r"'([\w.]+) object'"), lambda m: _kind_of_name(m[1])),
    (re.compile(r"'([\w.]+)' object"), lambda m: _kind_of_name(m[1])),
    (re.compile(r"\s*<[\w. ]+ at 0x[0-9a-fA-F]+>"), lambda m: ""),
]


def _plain_words(exc: BaseException) -> str:
    """An error's message with Python's names for things (`'types.SimpleNamespace'
    object`, `<... at 0x7f...>`) said in words a template's author knows."""
    text = str(getattr(exc, "message", None) or exc)
    for pattern, words in _REWORDED:
        text = pattern.sub(words, text)
    return text


def _missing(exc: UndefinedError, context: dict[str, Any]) -> str:
    """What a template asked for that is not there, by the name the template knows it by,
    with the nearest name that is there: "handout has no field 'titel' (did you mean
    'title'?)"."""
    from jinja2.utils import missing

    undefined = getattr(exc, "undefined", None)
    if undefined is None or undefined._undefined_hint:
        return _plain_words(exc)
    obj, name = undefined._undefined_obj, undefined._undefined_name
    if obj is missing:
        close = difflib.get_close_matches(str(name), list(context), n=1)
        return f"'{name}' is undefined: no variable has that name" + (
            f" (did you mean '{close[0]}'?)"
            if close
            else "; 'handouts templates variables' lists every variable a template can use"
        )
    named = _name_in(obj, context)
    what = named or _kind(obj)
    if isinstance(obj, list | tuple):
        if isinstance(name, int):
            return f"{what} has no item {name} (it has {len(obj)}, numbered from 0)"
        return (
            f"{f'{named} is a list, so it' if named else 'a list'} has no field '{name}'; "
            f"go through its items with {{% for item in {named or '...'} %}} and use "
            f"{{{{ item.{name} }}}} for each"
        )
    if isinstance(obj, SimpleNamespace | dict):
        fields = list(vars(obj) if isinstance(obj, SimpleNamespace) else obj)
        close = difflib.get_close_matches(str(name), [str(f) for f in fields], n=1)
        label = "field" if isinstance(name, str) else "item"
        shown = f"'{name}'" if isinstance(name, str) else str(name)
        if close:
            return f"{what} has no {label} {shown} (did you mean '{close[0]}'?)"
        listed = ", ".join(str(f) for f in fields) or "none"
        return f"{what} has no {label} {shown}; its fields are: {listed}"
    if obj is None:
        return (
            f"an empty value has no field '{name}': the value before .{name} is empty here "
            "(check it with {% if ... %} first)"
        )
    return f"{what} has no field '{name}'"


def _name_in(obj: Any, context: dict[str, Any]) -> str | None:
    """The name a template knows a record or list by ("handout.side_effects"), or "an item
    of handout.key_points" for an item of a list; None if it is not in the context."""
    queue: list[tuple[Any, str, bool]] = [(value, key, False) for key, value in context.items()]
    seen: set[int] = set()
    while queue:
        value, path, item = queue.pop(0)
        if not isinstance(value, SimpleNamespace | dict | list | tuple) or id(value) in seen:
            continue
        if value is obj:
            return f"an item of {path}" if item else path
        seen.add(id(value))
        if isinstance(value, list | tuple):
            # An item is named by its list, as in `{% for point in handout.key_points %}`.
            queue.extend((v, path, True) for v in value)
        else:
            fields = vars(value) if isinstance(value, SimpleNamespace) else value
            queue.extend((v, f"{path}.{k}", False) for k, v in fields.items())
    return None


def _not_found(
    env: ImmutableSandboxedEnvironment, exc: TemplateNotFound, leaflet: list[str]
) -> str:
    """Which template asked for a template that is not there (file:line), what it asked
    for, where templates are looked for, and the nearest name that exists."""
    where = _where(exc)
    asked = list(getattr(exc, "templates", None) or [exc.name])
    folders = _template_folders(env)
    if not where and set(asked) <= set(leaflet):  # no leaflet template at all
        return (
            f"no template for this leaflet was found: looked for {', '.join(leaflet)} in "
            + " and ".join(str(f) for f in folders)
        )
    quoted = " or ".join(f"'{name}'" for name in asked)
    said = f"{where}a template asks for {quoted}, which was not found"
    if any(_outside(str(name)) for name in asked):
        return (
            f"{said}: a template can only use templates inside the template folders, named "
            "from there, like 'partials/contact.html' (or 'base:handout.html' for a built-in "
            f"one). Templates are looked for in {' and then '.join(str(f) for f in folders)}."
        )
    last = str(asked[-1])
    if last.startswith("base:"):
        known = [f"base:{name}" for name in _template_names(env, built_in=True)]
        places = f"among the built-in templates ({templates_dir()})"
    else:
        known = _template_names(env)
        places = "in " + " or ".join(str(f) for f in folders)
    # Compared without ".html", which most names have and which would make all look alike.
    stems = {name.removesuffix(".html"): name for name in known}
    close = difflib.get_close_matches(last.removesuffix(".html"), list(stems), n=1)
    hint = (
        f"Did you mean '{stems[close[0]]}'?" if close else f"The templates are: {', '.join(known)}."
    )
    return f"{said} {places}. {hint}"


def _outside(name: str) -> bool:
    bare = name.removeprefix("base:")
    return (
        bare.startswith(("/", "~"))
        or "\\" in bare
        or re.match(r"^[A-Za-z]:", bare) is not None
        or ".." in bare.split("/")
    )


def _template_folders(env: ImmutableSandboxedEnvironment) -> list[Path]:
    """The folders templates are looked for in, in order (the clinic's, the built-in)."""
    loaders = getattr(env.loader, "loaders", [env.loader])
    first = loaders[0] if loaders else None
    return [Path(p) for p in getattr(first, "searchpath", [])] or [templates_dir()]


def _template_names(env: ImmutableSandboxedEnvironment, built_in: bool = False) -> list[str]:
    folders = [templates_dir()] if built_in else _template_folders(env)
    names = set()
    for folder in folders:
        names.update(
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.suffix in (".html", ".css") and path.is_file() and "styles" not in path.parts
        )
    return sorted(names)


def _joined(parts, most: int) -> str:
    """The template's output, stopped with a SecurityError past `most` letters."""
    out, size = [], 0
    for part in parts:
        size += len(part)
        if size > most:
            raise SecurityError(
                f"a template made more than {most:,} letters of HTML (a leaflet has about "
                "100,000 besides its logo and fonts); a loop most likely repeats too often"
            )
        out.append(part)
    return "".join(out)


def _embedded_size(context: dict[str, Any]) -> int:
    """Letters of the files a leaflet embeds as data: URIs (logo, fonts, QR code)."""
    uris = [context["qr_uri"], getattr(context["logo"], "uri", None)]
    uris += [face.uri for face in context["font_faces"]]
    return sum(len(uri) for uri in uris if uri)


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
            confined(current.used, [clinic.folder, templates_dir()], f"template '{current.name}'")
            tree = env.parse(current.used.read_text(encoding="utf-8"))
        except SecurityError as exc:
            raise RenderError(str(exc)) from None
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
