"""What each style promises about its pages, and the check that it kept the promise.

A style is a stylesheet (`templates/styles/<name>.css`) plus, where needed, a
template (`templates/<name>.html`). The rules here are checked on the rendered
document, so a leaflet that does not fit fails with a message: text is never
dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import RenderError
from .paths import styles_dir
from .pdf import RenderedPdf


@dataclass(frozen=True)
class Style:
    name: str
    description: str
    pages: int | None = None  # exactly this many pages, when set
    landscape: bool = False
    # (element id, page number from 0, which third of the page from 0): where each panel must start
    panels: tuple[tuple[str, int, int], ...] = field(default=())
    # Text sizes (pt) to try, largest first, until the leaflet fits its pages: a long
    # leaflet gets slightly smaller type rather than a second page. Empty: the style's own.
    fit_sizes: tuple[float | tuple[float, float], ...] = ()
    # The smallest text this style prints (pt): the safety-critical parts are checked
    # against it on every leaflet (handouts.verify).
    min_text_pt: float = 9


KNOWN = {
    "standard": Style("standard", "the full leaflet, 2 to 6 pages", min_text_pt=11),
    "large-print": Style(
        "large-print",
        "the full leaflet in large print (18 pt) for low vision",
        min_text_pt=16,
    ),
    "summary": Style(
        "summary",
        "a one-page card for the fridge: aftercare, when to call",
        pages=1,
        # Last, the smallest size with the lines closer together (1.2 instead of 1.3) and a
        # smaller title: a translation runs 15-30 % longer than the English it came from.
        fit_sizes=(11.5, 11, 10.5, 10, (10, 1.2)),
        min_text_pt=10,
    ),
    "trifold": Style(
        "trifold",
        "a tri-fold brochure: 2 landscape pages, printed on both sides and folded in three",
        pages=2,
        landscape=True,
        # Then its lines closer together (1.2 instead of 1.3) and a smaller title, then
        # its outside panels at 9 pt like its inside; never under 9 pt.
        fit_sizes=(9.5, (9.5, 1.2), (9, 1.2)),
        min_text_pt=9,
        panels=(
            ("panel-flap", 0, 0),
            ("panel-back", 0, 1),
            ("panel-front", 0, 2),
            ("panel-inside", 1, 0),
        ),
    ),
}


def available_styles() -> list[str]:
    return sorted(p.stem for p in styles_dir().glob("*.css"))


def style_info(name: str) -> Style:
    """The rules of a style; a stylesheet added without rules has none."""
    return KNOWN.get(name) or Style(name, "a custom style")


def fit_css(size: float | tuple[float, float] | None) -> str:
    """The extra rule that sets a style's text size (and line height) for one try (see
    Style.fit_sizes)."""
    if isinstance(size, tuple):  # closer lines, a smaller title, a tighter tri-fold cover
        return (
            f"html {{ font-size: {size[0]}pt; line-height: {size[1]}; }} "
            "h1, .front h1 { font-size: 1.8em; } "
            ".front .logo { margin: 2mm 0 4mm; } .front .clinic-name { margin-bottom: 5mm; } "
            ".front .subtitle, .front .purpose { font-size: 1.1em; }"
        )
    return f"html {{ font-size: {size}pt; }}" if size else ""


def smallest_size(style: Style) -> float | None:
    sizes = [s[0] if isinstance(s, tuple) else s for s in style.fit_sizes]
    return min(sizes) if sizes else None


def check_layout(style: Style, pdf: RenderedPdf, what: str, rtl: bool = False) -> None:
    """Raise a RenderError naming the leaflet when it does not fit the style's pages.
    `rtl`: the leaflet is right to left, so its panels run from right to left too (the
    front cover of an Arabic tri-fold is on the left of the outside page)."""
    if style.pages is not None and pdf.pages != style.pages:
        least = smallest_size(style)
        smallest = f", even with its text at {least} pt" if least else ""
        raise RenderError(
            f"{what} does not fit the {style.name} style: it needs {pdf.pages} pages{smallest}, "
            f"but this style has exactly {style.pages}. Shorten the leaflet text (the aftercare "
            "steps and the 'when to call' list are the longest parts) or any long details "
            "given for the patient (--patient-name, --clinician, --next-appointment), or use "
            "another style."
        )
    for anchor, page, third in style.panels:
        found = next(
            ((i, anchors[anchor]) for i, anchors in enumerate(pdf.anchors) if anchor in anchors),
            None,
        )
        if found is None:
            raise RenderError(f"{what}: the {style.name} template has no panel '{anchor}'")
        index, (left, _, _, _) = found
        width = pdf.page_sizes[index][0]
        wanted = 2 - third if rtl else third
        if index != page or int(left // (width / 3)) != wanted:
            raise RenderError(
                f"{what} does not fit the {style.name} style: the text before panel "
                f"'{anchor.removeprefix('panel-')}' is too long for its panel, so the panels "
                "would be out of order when folded. Shorten the leaflet text."
            )
