"""Checks on a leaflet's laid-out pages, made before it is written: a leaflet that looks
fine to handouts must be right on paper.

WeasyPrint lays a leaflet out as one tree of boxes per page, each box with its place and
size, and draws the PDF from exactly these boxes. Two checks read them:

- `check_fit`: every piece of text lies inside the page, inside every box that holds it
  (so inside its tri-fold panel, and the footer inside the footer), and no text prints
  on top of other text (the clinic's name in the footer over the page number).
- `check_required`: the safety-critical parts (the "when to call us" and emergency
  headings, the emergency number, the clinic's phone number) are printed, at no less than
  the style's smallest size, with a contrast of at least 4.5:1 against what is behind
  them, and are not hidden, transparent, cut off, covered, moved by a transform or off
  the page. Clinic CSS may restyle them, never hide them.

Each failure is a RenderError that names the field or part and says what to change.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RenderError
from .translations import needs_review

if TYPE_CHECKING:
    from .build import Job
    from .content import Library

PX_PER_PT = 4 / 3  # WeasyPrint measures in CSS px: 96 per inch, 72 pt per inch
TOLERANCE = 1.0  # px (0.26 mm): rounding, and glyphs that overhang their advance a little
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text
MAX_LISTED = 6  # problems listed in one message

# The part of the page a box belongs to, by the class or id of an element that holds it
# (nearest first), or by the page-margin box it is in.
PARTS = {
    "prepared-for": "the 'Prepared for you' box",
    "masthead": "the clinic's name and logo at the top of the first page",
    "contact": "the contact details",
    "call-clinic": "the 'when to call us' box",
    "emergency": "the emergency box",
    "key-points": "the main points",
    "references": "the sources",
    "qr": "the QR code's caption",
    "fold-note": "the folding note",
    "front": "the front cover of the tri-fold",
    "flap": "the flap of the tri-fold",
    "back": "the back panel of the tri-fold",
}
MARGIN_PARTS = {
    "@bottom-left": "the footer",
    "@bottom-right": "the page number",
    "@bottom-center": "the footer",
}


# --------------------------------------------------------------------------- the boxes


@dataclass
class Run:
    """One piece of laid-out text (a WeasyPrint TextBox) and where it printed."""

    box: object
    page: int  # from 0
    chain: tuple  # the boxes that hold it, the page box first
    order: int  # in painting order of the tree (document order)
    left: float
    top: float
    right: float
    bottom: float

    @property
    def text(self) -> str:
        return self.box.text

    @property
    def line(self):
        return next((b for b in reversed(self.chain) if _is(b, "LineBox")), None)

    @property
    def block(self):
        """The block the text's line is in."""
        return next((b for b in reversed(self.chain) if _is_container(b)), None)

    @property
    def margin_box(self):
        return next((b for b in self.chain if _is(b, "MarginBox")), None)


@dataclass
class Cover:
    """A positioned box with paint: it is drawn over the text of normal boxes."""

    box: object
    page: int
    order: int
    rect: tuple[float, float, float, float]


@dataclass
class Laid:
    """Every piece of text and every positioned box with paint, page by page."""

    runs: list[Run] = field(default_factory=list)
    covers: list[Cover] = field(default_factory=list)
    pages: list[object] = field(default_factory=list)  # the page boxes


def _is(box, name: str) -> bool:
    from weasyprint.formatting_structure import boxes

    return isinstance(box, getattr(boxes, name))


def _is_container(box) -> bool:
    """A box that holds text inside its own area: blocks, flex and grid containers, cells,
    page-margin boxes, inline blocks; not lines, inline boxes or the page."""
    from weasyprint.formatting_structure import boxes

    return isinstance(
        box,
        boxes.BlockContainerBox
        | boxes.BlockLevelBox
        | boxes.FlexContainerBox
        | boxes.GridContainerBox,
    ) and not isinstance(box, boxes.PageBox)


def _number(value) -> bool:
    return isinstance(value, int | float)


def lay_out(document) -> Laid:
    """Walk the box tree of every page of a rendered WeasyPrint document."""
    from weasyprint.formatting_structure import boxes

    laid = Laid()
    order = itertools.count()
    for index, page in enumerate(document.pages):
        page_box = page._page_box
        laid.pages.append(page_box)
        stack: list[tuple[object, tuple]] = [(page_box, ())]
        while stack:
            box, chain = stack.pop()
            box = getattr(box, "_box", box)  # an absolutely positioned box's placeholder
            number = next(order)
            if isinstance(box, boxes.TextBox):
                run = _run(box, index, chain, number)
                if run:
                    laid.runs.append(run)
                continue
            if getattr(box, "is_outside_marker", False):
                continue  # a list bullet or number, beside its item on purpose
            style = box.style
            if chain and style["position"] in ("absolute", "fixed", "relative") and _paints(box):
                laid.covers.append(Cover(box, index, number, _border_rect(box)))
            inner = (*chain, box)
            children = getattr(box, "children", ())
            stack.extend((child, inner) for child in reversed(children))
    return laid


def _run(box, page: int, chain: tuple, order: int) -> Run | None:
    if not box.text.strip() or not all(
        _number(v) for v in (box.position_x, box.position_y, box.width, box.height)
    ):
        return None
    # The glyphs' middle band, from the baseline: a text box is as tall as the font's
    # ascent and descent, which reach into the lines above and below (Noto Sans Arabic's
    # are twice the font size), so the box itself says little about where the ink is.
    baseline = getattr(box, "baseline", None)
    size = box.style["font_size"]
    if _number(baseline) and _number(size):
        top = box.position_y + baseline - 0.55 * size
        bottom = box.position_y + baseline + 0.1 * size
    else:
        top = box.position_y + 0.2 * box.height
        bottom = box.position_y + 0.8 * box.height
    left, right = box.position_x, box.position_x + box.width
    trailing = len(box.text) - len(box.text.rstrip())
    if trailing:
        # Spaces at the end of a line take no ink: allow them to hang past the edge.
        right -= min(box.width, trailing * 0.6 * box.style["font_size"])
    return Run(box, page, chain, order, left, top, right, bottom)


def _paints(box) -> bool:
    if box.style["visibility"] != "visible":
        return False
    if _is(box, "ReplacedBox"):
        return True
    colour = _rgba(box.style["background_color"], box.style)
    images = [image for image in box.style["background_image"] if image[0] != "none"]
    return colour[3] > 0 or bool(images)


def _border_rect(box) -> tuple[float, float, float, float]:
    x, y = box.border_box_x(), box.border_box_y()
    return x, y, x + box.border_width(), y + box.border_height()


def _padding_rect(box) -> tuple[float, float, float, float]:
    x, y = box.padding_box_x(), box.padding_box_y()
    return x, y, x + box.padding_width(), y + box.padding_height()


def _page_rect(page_box) -> tuple[float, float, float, float]:
    """The trimmed page, in the coordinates of its boxes."""
    return 0, 0, page_box.margin_width(), page_box.margin_height()


def _inside(run: Run, rect, tolerance: float = TOLERANCE) -> bool:
    left, top, right, bottom = rect
    return (
        run.left >= left - tolerance
        and run.right <= right + tolerance
        and run.top >= top - tolerance
        and run.bottom <= bottom + tolerance
    )


def _overlap(a, b, tolerance: float = TOLERANCE) -> bool:
    return (
        min(a[2], b[2]) - max(a[0], b[0]) > tolerance
        and min(a[3], b[3]) - max(a[1], b[1]) > tolerance
    )


def _rect(run: Run) -> tuple[float, float, float, float]:
    return run.left, run.top, run.right, run.bottom


# --------------------------------------------------------------------------- naming things


@dataclass(frozen=True)
class Field:
    """A value printed on the leaflet that the user gave, and how to fix it."""

    value: str
    name: str  # e.g. "the patient's name (--patient-name)"
    fix: str


def fields_of(job: Job) -> list[Field]:
    """The values a user gives that can be too long: personal details and clinic fields."""
    found = []
    options = (
        ("patient_name", "the patient's name", "--patient-name"),
        ("clinician", "the clinician's name", "--clinician"),
        ("next_appointment", "the next appointment", "--next-appointment"),
        ("treatment_date", "the date of treatment", "--date"),
    )
    for attribute, name, option in options:
        value = getattr(job.personal, attribute)
        if value:
            found.append(
                Field(
                    value,
                    f"{name} ({option})",
                    f"Shorten {option} (it has {len(value)} characters; break a long word "
                    f"with spaces), or leave it out to print a line to write on{_css_hint(job)}.",
                )
            )
    brand = job.clinic.brand
    clinic_file = job.clinic.folder / "clinic.yaml"
    values = [
        ("meta.name", "the clinic name", brand.meta.name),
        ("meta.department", "the department", brand.meta.department),
        ("contact.phone", "the phone number", brand.contact.phone),
        ("contact.after_hours", "the out-of-hours number", brand.contact.after_hours),
        ("contact.email", "the email address", brand.contact.email),
        ("contact.website", "the website", brand.contact.website),
        ("disclaimer", "the disclaimer", brand.disclaimer),
        *(
            (f"contact.address[{i}]", "a line of the address", line)
            for i, line in enumerate(brand.contact.address)
        ),
    ]
    if brand.contact.qr_url:
        values.append(("contact.qr_url", "the QR code's address", brand.contact.qr_url))
    for path, name, value in values:
        if value:
            found.append(
                Field(
                    value,
                    f"{name} ({path} in {clinic_file})",
                    f"Shorten {path} in {clinic_file}{_css_hint(job)}.",
                )
            )
    return found


def _css_hint(job: Job) -> str:
    sheets = ", ".join(str(p) for p in job.clinic.extra_css)
    if not sheets:
        return ""
    return (
        f", or check {sheets} for rules that stop long words from wrapping (white-space, "
        "overflow-wrap, word-break, width)"
    )


def _squash(text: str) -> str:
    return " ".join(text.split())


def field_of(run: Run, fields: Sequence[Field]) -> Field | None:
    """The user's value this text shows (the longest that matches), if any."""
    text = _squash(run.text)
    matches = [
        f
        for f in fields
        if _squash(f.value) in text or (len(text) >= 3 and text in _squash(f.value))
    ]
    return max(matches, key=lambda f: len(f.value), default=None)


def part_of(run: Run) -> str:
    """Where on the page a piece of text is, in words."""
    margin = run.margin_box
    if margin is not None:
        return MARGIN_PARTS.get(margin.at_keyword, f"the page margin ({margin.at_keyword})")
    return _part_in(run.chain) or "the page"


def _part_in(chain: Sequence) -> str | None:
    """The nearest known part (by class) among these boxes, the innermost last."""
    for box in reversed(chain):
        element = getattr(box, "element", None)
        if element is None:
            continue
        for name in (element.get("class") or "").split():
            if name in PARTS:
                return PARTS[name]
    return None


def _snippet(text: str, limit: int = 40) -> str:
    text = _squash(text)
    return f"'{text}'" if len(text) <= limit else f"'{text[: limit - 1]}…'"


def _name(run: Run, fields: Sequence[Field]) -> tuple[str, str]:
    """(what the text is, what to do about it)."""
    found = field_of(run, fields)
    if found:
        return found.name, found.fix
    part = part_of(run)
    if part == "the page number":
        return part, ""
    return f"the text {_snippet(run.text)} in {part}", ""


# --------------------------------------------------------------------------- item 1: fit


def check_fit(laid: Laid, fields: Sequence[Field], what: str, advice: str = "") -> None:
    """Raise a RenderError when text runs out of the page, a box that holds it or its
    tri-fold panel, or prints over other text."""
    problems: dict[tuple[str, str], tuple[list[int], str]] = {}  # (subject, how) -> pages, fix

    def add(subject: str, how: str, page: int, fix: str) -> None:
        pages, _ = problems.setdefault((subject, how), ([], fix))
        if page + 1 not in pages:
            pages.append(page + 1)

    spilled: set[str] = set()  # what ran out of its box, the page or its panel
    for run in laid.runs:
        if run.box.style["visibility"] != "visible":
            continue
        subject, fix = _name(run, fields)
        margin = run.margin_box
        if margin is not None and run.bottom > _padding_rect(margin)[3] + TOLERANCE:
            # Too many lines for the page margin: the longest value in it is to blame.
            shown = _margin_text(margin, laid)
            found = [f for f in fields if _fold(f.value) in shown]
            culprit = max(found, key=lambda f: len(f.value), default=None)
            add(
                f"{part_of(run)}, with {culprit.name}," if culprit else part_of(run),
                "has too many lines for the bottom margin and runs off the page",
                run.page,
                culprit.fix if culprit else fix,
            )
            continue
        if not _inside(run, _page_rect(laid.pages[run.page])):
            add(subject, "runs off the edge of the page", run.page, fix)
            spilled.add(subject)
            continue
        outside = []
        for box in reversed(run.chain):
            if not _is_container(box):
                continue
            if not _inside(run, _padding_rect(box)):
                outside.append(box)
            if box.style["position"] in ("absolute", "fixed"):
                break  # placed on purpose, outside the boxes around it
        if not outside:
            continue
        column = next((box for box in outside if getattr(box, "is_column", False)), None)
        if column is not None:
            add(subject, "runs into the next panel of the tri-fold", run.page, fix)
        elif margin is not None:
            add(subject, f"is too long for {part_of(run)}", run.page, fix)
            continue  # said better by what it overlaps, below
        else:
            part = _container_part(outside[0], run)
            shorter = subject.removesuffix(f" in {part}")
            add(shorter, f"is too long for {part}: it runs out of its box", run.page, fix)
        spilled.add(subject)

    in_margin = set()
    for a, b in _overlapping(laid.runs):
        subject_a, fix_a = _name(a, fields)
        subject_b, fix_b = _name(b, fields)
        if subject_a in spilled or subject_b in spilled:
            continue  # text that ran out of its box: said above
        if a.margin_box is not None:
            in_margin.add(subject_a)
            if field_of(a, fields) is not None:
                subject_a = f"{subject_a} in {part_of(a)}"
        add(subject_a, f"overlaps {subject_b}", a.page, fix_a or fix_b)
    # Text too long for its page-margin box that overlaps its neighbour: say it once.
    for key in [k for k in problems if k[0] in in_margin and k[1].startswith("is too long")]:
        del problems[key]

    if problems:
        lines = [
            f"{subject} {how} ({_pages(pages)})." for (subject, how), (pages, _) in problems.items()
        ]
        listed = "\n  ".join(lines[:MAX_LISTED])
        if len(lines) > MAX_LISTED:
            listed += f"\n  (and {len(lines) - MAX_LISTED} more)"
        fixes = list(dict.fromkeys(fix for _, fix in problems.values() if fix))
        todo = "\n".join(f"What to do: {fix}" for fix in fixes)
        if advice and (not fixes or any(not fix for _, fix in problems.values())):
            todo = f"{todo}\n{advice}" if todo else advice
        raise RenderError(f"{what} would not print as laid out:\n  {listed}\n{todo}".rstrip())


def _margin_text(margin, laid: Laid) -> str:
    """All the text of a page-margin box, folded (see _fold)."""
    return _fold("".join(r.text for r in laid.runs if r.margin_box is margin))


def _pages(pages: list[int]) -> str:
    pages = sorted(pages)
    if len(pages) == 1:
        return f"page {pages[0]}"
    if pages == list(range(pages[0], pages[-1] + 1)):
        return f"pages {pages[0]} to {pages[-1]}"
    return "pages " + ", ".join(str(p) for p in pages)


def _container_part(box, run: Run) -> str:
    """The part of the page a box that holds this text is, in words."""
    index = next(i for i, holder in enumerate(run.chain) if holder is box)
    return _part_in(run.chain[: index + 1]) or "its box"


def _overlapping(runs: Sequence[Run]) -> Iterator[tuple[Run, Run]]:
    """Pairs of visible text on different lines that print on top of each other."""
    by_page: dict[int, list[Run]] = {}
    for run in runs:
        if run.box.style["visibility"] == "visible":
            by_page.setdefault(run.page, []).append(run)
    for page_runs in by_page.values():
        page_runs.sort(key=lambda r: r.top)
        active: list[Run] = []
        for run in page_runs:
            active = [other for other in active if other.bottom > run.top + TOLERANCE]
            for other in active:
                if other.line is not run.line and _overlap(_rect(other), _rect(run)):
                    first, second = sorted((other, run), key=lambda r: r.order)
                    yield first, second
            active.append(run)


# --------------------------------------------------------------------------- item 2: required


@dataclass(frozen=True)
class Required:
    """A safety-critical text that every leaflet must print, readably."""

    name: str  # e.g. "the emergency heading"
    source: str  # where its words come from, e.g. labels.headings.emergency
    text: str
    heading: bool = False  # printed as a line of its own, not inside a sentence
    section: str = ""  # for a heading: the section it heads, all of which must be readable
    number: bool = False  # a number: not part of a longer number


def required_of(library: Library, job: Job) -> list[Required]:
    """What every leaflet must print: both safety headings, the emergency number (or the
    words said instead) and the clinic's phone number when it gives one."""
    locale = library.resolve_locale(job.lang, job.clinic.brand.defaults.language)
    labels = library.localised_labels(locale)
    contact = job.clinic.brand.contact
    required = [
        Required(
            "the 'when to call us' heading",
            "labels.headings.call_clinic",
            labels.headings.call_clinic,
            heading=True,
            section="the 'when to call us' box",
        ),
        Required(
            "the emergency heading",
            "labels.headings.emergency",
            labels.headings.emergency,
            heading=True,
            section="the emergency box",
        ),
    ]
    if contact.emergency_number:
        required.append(
            Required(
                "the emergency number",
                "contact.emergency_number",
                contact.emergency_number,
                number=True,
            )
        )
    else:
        required.append(
            Required(
                "the words for the emergency number",
                "labels.emergency_services",
                labels.emergency_services,
            )
        )
    if contact.phone:
        required.append(
            Required("the clinic's phone number", "contact.phone", contact.phone, number=True)
        )
    if needs_review(library.localised(job.treatment, locale).translation, labels.translation):
        required.append(
            Required(
                "the line saying that no fluent clinician has checked the translation",
                "labels.translation_notice",
                labels.translation_notice,
            )
        )
    return required


def _fold(text: str) -> str:
    """Text compared without spaces or case: line breaks can fall anywhere in it."""
    return "".join(
        ch.casefold()
        for ch in text
        if not ch.isspace() and unicodedata.category(ch) != "Cf"  # soft hyphens, isolates
    )


@dataclass
class Found:
    runs: list[Run]
    reasons: list[str]


def check_required(
    laid: Laid,
    required: Sequence[Required],
    min_pt: float,
    style: str,
    what: str,
    look_at: Sequence[Path] = (),
    css: Sequence[Path] = (),
) -> None:
    """Raise a RenderError when a required part is missing or cannot be read. For each
    heading, every text in the section it heads must be readable too."""
    # All text in order, folded, with the run each folded letter came from.
    letters: list[str] = []
    owner: list[int] = []
    for index, run in enumerate(laid.runs):
        text = run.text
        following = laid.runs[index + 1] if index + 1 < len(laid.runs) else None
        hyphen = run.box.style["hyphenate_character"]
        if (
            hyphen
            and text.endswith(hyphen)
            and (following is None or following.line is not run.line)
        ):
            text = text.removesuffix(hyphen)  # added where a word was hyphenated at a line end
        for ch in _fold(text):
            letters.append(ch)
            owner.append(index)
    plain = "".join(letters)
    block_text: dict[int, str] = {}
    for run in laid.runs:
        block = run.block
        if block is not None:
            block_text[id(block)] = block_text.get(id(block), "") + _fold(run.text)

    problems = []
    for item in required:
        wanted = _fold(item.text)
        if not wanted:
            continue
        found: list[Found] = []
        start = plain.find(wanted)
        while start >= 0:
            end = start + len(wanted)
            if _acceptable(item, plain, start, end):
                runs = [laid.runs[i] for i in dict.fromkeys(owner[start:end])]
                if not item.heading or _own_line(runs, wanted, block_text):
                    reasons = []
                    for run in runs:
                        for reason in _unreadable(run, laid, min_pt, style):
                            if reason not in reasons:
                                reasons.append(reason)
                    found.append(Found(runs, reasons))
            start = plain.find(wanted, start + 1)
        shown = f"{item.name} ('{_squash(item.text)}', {item.source})"
        readable = [f for f in found if not f.reasons]
        if readable:
            if item.section:
                problem = _section_problem(readable[0].runs[0], item.section, laid, min_pt, style)
                if problem:
                    problems.append((problem, "unreadable"))
            continue
        if not found:
            problems.append((f"{shown} is not printed anywhere on the leaflet", "missing"))
        else:
            best = min(found, key=lambda f: len(f.reasons))
            page = best.runs[0].page + 1
            problems.append(
                (
                    f"{shown} cannot be read on page {page}: it is {' and '.join(best.reasons)}",
                    "unreadable",
                )
            )
    if problems:
        listed = "\n  ".join(message + "." for message, _ in problems)
        kinds = {kind for _, kind in problems}
        raise RenderError(
            f"{what} is missing a safety-critical part, or prints it so that it cannot be "
            f"read:\n  {listed}\n" + _where_to_look(kinds, look_at, css)
        )


def _section_problem(heading: Run, name: str, laid: Laid, min_pt: float, style: str) -> str | None:
    """The first text in the section a heading heads that cannot be read, in words."""
    block = heading.block
    chain = heading.chain
    if block is None or block not in chain:
        return None
    holders = [b for b in chain[: chain.index(block)] if _is_container(b)]
    section = holders[-1] if holders else None
    if section is None or _is_whole_page(section):
        return None  # a heading placed straight in the page: no section of its own
    for run in laid.runs:
        if any(b is section for b in run.chain):
            reasons = _unreadable(run, laid, min_pt, style)
            if reasons:
                return (
                    f"the text {_snippet(run.text)} in {name} cannot be read on page "
                    f"{run.page + 1}: it is {' and '.join(reasons)}"
                )
    return None


def _is_whole_page(box) -> bool:
    """The root, body or main element, a tri-fold column or a page-margin box."""
    if getattr(box, "is_column", False) or getattr(box, "is_for_root_element", False):
        return True
    if _is(box, "MarginBox"):
        return True
    return getattr(box, "element_tag", None) in ("html", "body", "main")


def _acceptable(item: Required, plain: str, start: int, end: int) -> bool:
    """A number must not be part of a longer number (999 inside 01632 960 999)."""
    if not item.number:
        return True
    before = plain[start - 1] if start else ""
    after = plain[end] if end < len(plain) else ""
    return not before.isdigit() and not after.isdigit()


def _own_line(runs: list[Run], wanted: str, block_text: dict[int, str]) -> bool:
    """A heading is the whole text of its block (give or take a symbol), not a mention of
    it inside a sentence."""
    blocks = {id(run.block) for run in runs}
    if len(blocks) != 1:
        return False
    text = block_text.get(blocks.pop(), "")
    return wanted in text and len(text) <= len(wanted) + 12


def _unreadable(run: Run, laid: Laid, min_pt: float, style: str) -> list[str]:
    """Why this piece of text cannot be read on paper; empty when it can."""
    reasons = []
    box_style = run.box.style
    size = box_style["font_size"] / PX_PER_PT
    if box_style["visibility"] != "visible":
        reasons.append(f"hidden (visibility: {box_style['visibility']})")
    if size < min_pt - 0.05:
        reasons.append(
            f"printed at {size:.3g} pt, smaller than the {min_pt:g} pt the {style} style needs"
        )
    holders = (*run.chain, run.box)
    if any(b.style["transform"] for b in holders if getattr(b, "style", None) is not None):
        reasons.append("moved or resized with a CSS transform, which handouts cannot check")
    opacity = 1.0
    for b in holders:
        opacity *= float(b.style["opacity"])
    if opacity < 0.05:
        reasons.append(f"transparent (opacity: {opacity:g})")
    else:
        background = _background(holders)
        if background is None:
            reasons.append("printed over a background image, whose contrast handouts cannot check")
        else:
            red, green, blue, alpha = _rgba(box_style["color"], box_style)
            alpha *= opacity
            ink = tuple(
                alpha * c + (1 - alpha) * bg
                for c, bg in zip((red, green, blue), background, strict=True)
            )
            ratio = contrast(ink, background)
            if ratio < MIN_CONTRAST - 0.005:
                reasons.append(
                    f"too faint: its contrast with the background is {ratio:.2f}:1, and at "
                    f"least {MIN_CONTRAST}:1 is needed"
                )
    if not _inside(run, _page_rect(laid.pages[run.page])):
        reasons.append("off the edge of the page")
    for b in run.chain:
        if not _is_container(b):
            continue
        if b.style["overflow"] != "visible" and not _inside(run, _padding_rect(b)):
            reasons.append(f"cut off by a box with overflow: {b.style['overflow']}")
            break
        if b.style["position"] in ("absolute", "fixed") and b.style["clip"]:
            reasons.append("cut off by a 'clip' rule")
            break
    covered = _covered_by(run, laid)
    if covered is not None:
        reasons.append(f"covered by another box ({_describe_box(covered.box)})")
    return reasons


def _covered_by(run: Run, laid: Laid) -> Cover | None:
    """A positioned box with paint, drawn after this text and over it."""
    holders = {id(b) for b in run.chain}
    positioned = [
        b for b in run.chain if getattr(b, "style", None) and b.style["position"] != "static"
    ]
    z_text = _z(positioned[-1]) if positioned else None
    for cover in laid.covers:
        if cover.page != run.page or id(cover.box) in holders:
            continue
        if not _overlap(cover.rect, _rect(run)):
            continue
        z_cover = _z(cover.box)
        if z_cover < 0:
            continue
        if z_text is None or z_cover > z_text or (z_cover == z_text and cover.order > run.order):
            return cover
    return None


def _z(box) -> int:
    value = box.style["z_index"]
    return value if isinstance(value, int) else 0


def _describe_box(box) -> str:
    element = getattr(box, "element", None)
    tag = getattr(box, "element_tag", None) or "a box"
    classes = (element.get("class") or "").split() if element is not None else []
    return tag + "".join(f".{c}" for c in classes)


def _background(holders) -> tuple[float, float, float] | None:
    """The colour behind the text (paper, page, then every box that holds it, painted in
    turn), or None when a background image is behind it."""
    colour = (1.0, 1.0, 1.0)  # the paper
    for box in holders:
        style = getattr(box, "style", None)
        if style is None or _is(box, "TextBox"):
            continue
        if any(image[0] != "none" for image in style["background_image"]):
            return None
        red, green, blue, alpha = _rgba(style["background_color"], style)
        colour = tuple(
            alpha * c + (1 - alpha) * under
            for c, under in zip((red, green, blue), colour, strict=True)
        )
    return colour


def _rgba(value, style) -> tuple[float, float, float, float]:
    """A computed CSS colour as sRGB components and alpha, each 0 to 1."""
    if not hasattr(value, "to"):  # currentcolor
        value = style["color"]
    srgb = value.to("srgb")
    red, green, blue = (min(1.0, max(0.0, float(c))) for c in srgb.coordinates)
    return red, green, blue, float(srgb.alpha)


def luminance(rgb: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (components 0 to 1)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _where_to_look(kinds: set[str], templates: Sequence[Path], css: Sequence[Path]) -> str:
    if not templates and not css:
        return (
            "The clinic has no templates or CSS of its own, so this is a fault in handouts' "
            "own templates: please report it."
        )
    advice = []
    if "missing" in kinds and templates:
        names = ", ".join(str(p) for p in templates)
        advice.append(
            f"Check the clinic's templates ({names}): a leaflet template must extend the "
            'built-in one (for example {% extends "base:handout.html" %}) and keep its '
            "call_clinic and emergency blocks (an override may change them, but must print "
            "them)."
        )
    if css:
        names = ", ".join(str(p) for p in css)
        advice.append(
            f"Check the clinic's CSS ({names}) for rules that hide or shrink these parts "
            "(display: none, visibility, opacity, font-size, color, height, overflow, "
            "position, transform). Clinic CSS may restyle the safety sections, never hide them."
        )
    elif "missing" not in kinds and templates:
        names = ", ".join(str(p) for p in templates)
        advice.append(f"Check the clinic's templates ({names}) for styles that hide them.")
    return "\n".join(advice)


# --------------------------------------------------------------------------- both, for a build


def clinic_templates(job: Job) -> list[Path]:
    """The clinic's own template files, the leaflet template first."""
    from .templating import candidate_templates

    folder = job.clinic.template_dir
    if not folder.is_dir():
        return []
    leaflet = [
        folder / name
        for name in candidate_templates(job.treatment, job.style)
        if (folder / name).is_file()
    ][:1]
    others = sorted(p for p in folder.rglob("*.html") if p.is_file() and p not in leaflet)
    return leaflet + others


def verify_leaflet(library: Library, job: Job, pdf, what: str, min_pt: float) -> None:
    """Both checks on one rendered leaflet (a RenderedPdf with its document)."""
    document = getattr(pdf, "document", None)
    if document is None:  # a fault in handouts: a leaflet must never skip these checks
        raise RuntimeError("the rendered PDF has no laid-out document to verify")
    laid = lay_out(document)
    css = list(job.clinic.extra_css)
    templates = clinic_templates(job)
    advice = ""
    if css or templates:
        names = ", ".join(str(p) for p in [*templates, *css])
        advice = f"If the clinic's templates or CSS change these parts, check them too ({names})."
    check_fit(laid, fields_of(job), what, advice)
    check_required(laid, required_of(library, job), min_pt, job.style, what, templates, css)
