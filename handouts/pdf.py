"""HTML to PDF with WeasyPrint, locked down.

- Only `file:` and `data:` URLs load, and files only from inside the allowed folders
  (the built-in templates and the clinic's own folder). Anything else stops the render.
- WeasyPrint's log is captured and each record is sorted by its message template
  (`record.msg`, the text before its `%` arguments are filled in), never by the filled-in
  words, which can quote a clinic's own CSS: an image or font that fails to load, or a
  missing `lang` or `alt`, is an error, never a blank space in a printed leaflet; a CSS
  rule WeasyPrint ignores (an unknown property such as `colour`, a value it cannot use) is
  a warning naming the file, line and property, reported once per `Renderer`, and an
  error for a strict `Renderer`.
- A stylesheet that asks for a file it may not have (`@import` of a web font, a missing
  file, a file outside the clinic folder) stops with `file:line: what to do`.
- One `Renderer` reuses its font configuration and parsed stylesheets for every
  leaflet it makes, and removes its temporary font folder when closed.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import unquote, urljoin, urlsplit

from .errors import RenderError

# WeasyPrint 70's message templates (record.msg), as written in its source: see
# tests/test_render_faults.py, which checks that each still occurs there.
# Messages that mean the leaflet would be missing something (besides every message logged
# at ERROR level, such as a missing `lang` or `alt` in a tagged PDF).
_MISSING_GLYPH = '.notdef glyph rendered for Unicode string unsupported by fonts: "%s" (U+%04X)'
_FONT_NOT_LOADED = "Font-face %r cannot be loaded"
FATAL_TEMPLATES = frozenset({_MISSING_GLYPH, _FONT_NOT_LOADED})
# A CSS declaration WeasyPrint ignored: (property, value, line, column, reason).
_IGNORED_DECLARATION = frozenset(
    {"Ignored `%s:%s` at %d:%d, %s.", "Ignored `%s: %s` at %d:%d, %s."}
)
# Other CSS rules WeasyPrint ignored (logged by its weasyprint.css modules).
CSS_TEMPLATES = _IGNORED_DECLARATION | frozenset(
    {
        "Error: %s at %d:%d.",
        "Parse error at %d:%d: %s",
        "Deprecated `%s:%s` at %d:%d, prefixes on unstable attributes are deprecated, "
        "use %r instead.",
        "Ignored `%s:%s` at %d:%d, prefix on this attribute is not supported, use %r instead.",
        "Invalid or unsupported selector, %s",
        "Invalid math function at %d:%d: %s",
        "Unknown rule %s at %d:%d",
        "Unknown empty rule %s at %d:%d",
        "@import rule %r not at the beginning of the the whole rule was ignored at %d:%d.",
        "Invalid @import rule %r, the whole rule was ignored at %d:%d.",
        "Invalid media type %r the whole @import rule was ignored at %d:%d.",
        "Invalid layer name %r the whole @import rule was ignored at %d:%d.",
        "Invalid media type %r the whole @media rule was ignored at %d:%d.",
        "Unsupported @page selector %r, the whole @page rule was ignored at %d:%d.",
        "Unknown @page rule %s at %d:%d",
        "Empty @page rule %s at %d:%d",
        "Invalid prelude %r for @page rule %s at %d:%d",
        "Missing %s descriptor in '@font-face' rule at %d:%d",
        "Expected a media type, got %r",
        "@layer rule with multiple layer names, the whole @layer rule was ignored at %d:%d.",
        "Unsupported @layer selector %r, the whole @layer rule was ignored at %d:%d.",
        "Invalid counter style name %r, the whole @counter-style rule was ignored at %d:%d.",
        "In counter style %r at %d:%d, counter style %r needs at least one symbol",
        "In counter style %r at %d:%d, counter style %r needs at least two symbols",
        'In counter style %r at %d:%d, counter style "additive" needs at least two additive '
        "symbols",
        "Invalid color profile name %r, the whole @color-profile rule was ignored at %d:%d.",
        "Unknown descriptor %r for profile named %r at %d:%d.",
        "No source for profile named %r, the whole @color-profile rule was ignored at %d:%d.",
        "Invalid profile file for profile named %r, the whole @color-profile rule was "
        "ignored at %d:%d.",
    }
)
# The largest stylesheet handouts reads (the built-in ones are about 10 KB).
MAX_STYLESHEET_BYTES = 1_000_000
_PLACEHOLDER = re.compile(r"%\d*[sdrX]")


@dataclass(frozen=True)
class LogEntry:
    """One WeasyPrint log record, sorted: `fatal` (the leaflet would be missing something),
    `css` (a stylesheet rule was ignored; a warning, or an error when strict), or neither
    (a plain warning)."""

    message: str
    fatal: bool = False
    css: bool = False


def classify(
    record: logging.LogRecord, source: Path | None = None, candidates: Sequence[Path] = ()
) -> LogEntry:
    """Sort one WeasyPrint log record by its message template. `source` is the stylesheet
    being read, if known: CSS messages then name it with the line. Otherwise a declaration
    is looked for in `candidates` (the stylesheets of a render), at the line it names."""
    template = record.msg if isinstance(record.msg, str) else ""
    args = record.args if isinstance(record.args, tuple) else ()
    if template in CSS_TEMPLATES:
        if source is None and template in _IGNORED_DECLARATION and len(args) == 5:
            source = _holder(candidates, str(args[0]), args[2])
        return LogEntry(_css_message(template, args, record.getMessage(), source), css=True)
    fatal = record.levelno >= logging.ERROR or template in FATAL_TEMPLATES
    return LogEntry(_explain(template, args, record.getMessage()), fatal=fatal)


_SVG_FAILED = "Failed to render SVG image %s"
_IMAGE_FAILED = "Failed to load image at %r: %s"


def _shown_url(url: object) -> str:
    """A URL as a message shows it: an embedded file (data: URI) is not spelt out."""
    text = str(url)
    if text.startswith("data:"):
        kind = text[5:].split(";", 1)[0].split(",", 1)[0] or "file"
        return f"an embedded {kind} file (the clinic's logo, a font or the QR code)"
    return f"'{text[:300]}'"


def _explain(template: str, args: tuple, message: str) -> str:
    """WeasyPrint's wording, made plain where we know what it means."""
    if template == _SVG_FAILED and args:
        url = str(args[0])
        which = (
            "an SVG image embedded in the leaflet (the clinic's logo, if it is an SVG)"
            if url.startswith("data:")
            else f"the SVG image '{url[:300]}'"
        )
        return (
            f"{which} could not be drawn: it is broken, or it "
            "uses another file or address (an <image> or a link inside the SVG), which a "
            "leaflet may not load. Save the logo as one self-contained SVG, or as PNG."
        )
    if template == _IMAGE_FAILED and len(args) == 2:
        return f"the image {_shown_url(args[0])} cannot be used: {str(args[1])[:300]}"
    if template == _MISSING_GLYPH and len(args) == 2:
        return (
            f"no installed font has the character {args[0]!r} (U+{args[1]:04X}); it would "
            "print as an empty box. Install a font for this language (Debian: "
            "fonts-noto-core, fonts-noto-cjk) or remove the character."
        )
    if template == _FONT_NOT_LOADED and args:
        return (
            f"the font {args[0]!r} cannot be used: its file is missing or broken, so the text "
            "would print in another font. Check the font files in clinic.yaml "
            "(typography.fonts) and any @font-face rule in the clinic's CSS."
        )
    return message


def _css_message(template: str, args: tuple, message: str, source: Path | None) -> str:
    """`clinic.css:3: CSS ...` with the property, why it is ignored and a likely fix."""
    line = _css_line(template, args)
    if source is not None:
        where = f"{source}:{line}: " if line else f"{source}: "
    else:
        where = f"line {line} of a <style> element in a template: " if line else ""
    if template in _IGNORED_DECLARATION and len(args) == 5:
        name, value, _, _, reason = args
        shown = f"{name}: {str(value).strip()}"
        if reason == "unknown property":
            hint = _property_hint(str(name))
            return (
                f"{where}CSS '{shown}' is ignored: '{name}' is not a CSS property"
                f"{hint}. Correct it or remove the line."
            )
        hint = " (did you mean 'center'?)" if "centre" in str(value).lower() else ""
        return (
            f"{where}CSS '{shown}' is ignored: {reason} for '{name}'{hint}. Correct the "
            "value or remove the line."
        )
    return f"{where}CSS ignored: {message}"


def _holder(candidates: Sequence[Path], name: str, line: object) -> Path | None:
    """The stylesheet among `candidates` whose line `line` sets the property `name`."""
    if not isinstance(line, int) or line < 1:
        return None
    for path in candidates:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        if line <= len(lines) and re.search(rf"(?<![-\w]){re.escape(name)}\s*:", lines[line - 1]):
            return path
    return None


def _css_line(template: str, args: tuple) -> int | None:
    """The line number among a CSS message's arguments: the first of its `%d:%d` pair."""
    at = template.find("%d:%d")
    if at < 0:
        return None
    index = len(_PLACEHOLDER.findall(template[:at]))
    line = args[index] if index < len(args) else None
    return line if isinstance(line, int) else None


def _property_hint(name: str) -> str:
    """A hint such as " (did you mean 'color'?)" for a near miss of a known property."""
    from difflib import get_close_matches

    from weasyprint.css.properties import KNOWN_PROPERTIES
    from weasyprint.css.validation.expanders import EXPANDERS

    known = set(KNOWN_PROPERTIES) | set(EXPANDERS)
    lowered = name.lower()
    british = lowered.replace("colour", "color")
    if british != lowered and british in known:
        return f" (did you mean '{british}'?)"
    close = get_close_matches(lowered, sorted(known), n=1, cutoff=0.8)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BlockedURL(Exception):
    """A template, stylesheet or image asked for something it may not read."""

    def __init__(self, url: str, message: str, advice: str) -> None:
        super().__init__(message)
        self.url = url
        self.advice = advice


_COPY_IN = (
    "Copy the file into the clinic folder and point to it there (for a font, list its "
    "files under typography.fonts in clinic.yaml)"
)


def _make_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class RestrictedFetcher(URLFetcher):
        """Fetch `data:` URLs and files inside `roots`; refuse everything else."""

        def __init__(self, roots: Sequence[Path]):
            super().__init__(
                allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=True
            )
            self.roots = [Path(root).resolve() for root in roots]

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme != "file":
                raise BlockedURL(
                    url,
                    f"'{url}' is not a local file; leaflets never load from a network",
                    _COPY_IN,
                )
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise BlockedURL(url, f"'{url}' is on another computer", _COPY_IN)
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                allowed = ", ".join(str(r) for r in self.roots)
                raise BlockedURL(
                    url,
                    f"'{path}' is outside the folders a leaflet may use ({allowed})",
                    "Move the file into the clinic folder (for example assets/) and point to "
                    "it there",
                )
            if not path.is_file():
                raise BlockedURL(
                    url,
                    f"'{path}' does not exist",
                    "Check the file's name and folder, or remove what asks for it",
                )
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return RestrictedFetcher


@dataclass
class RenderedPdf:
    data: bytes
    pages: int
    warnings: list[str] = field(default_factory=list)
    # Per page: (width, height) in CSS px, and where each element with an id landed,
    # as {id: (left, top, right, bottom)}; used to check that a layout fits.
    page_sizes: list[tuple[float, float]] = field(default_factory=list)
    anchors: list[dict[str, tuple[float, float, float, float]]] = field(default_factory=list)
    # WeasyPrint's laid-out document (its pages' box trees), for handouts.verify.
    document: object = None
    # Which of `warnings` are about a stylesheet (said once per batch: Renderer.once).
    css_warnings: frozenset[str] = frozenset()


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _captured_log() -> Iterator[_Collector]:
    logger = logging.getLogger("weasyprint")
    collector = _Collector()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


class Renderer:
    """Makes PDFs from HTML. Use as a context manager; one per process or batch.

    `strict`: CSS that WeasyPrint would ignore (an unknown property, a value it cannot
    use) is an error, not a warning.
    """

    def __init__(self, *, strict: bool = False) -> None:
        from weasyprint.text.fonts import FontConfiguration

        self.strict = strict
        self._font_config = FontConfiguration()
        # Made now, not when the first web font is added, so that a leaflet made in a child
        # process (handouts/limits.py) adds its fonts here, where close() removes them.
        self._font_folder = Path(mkdtemp(prefix="weasyprint-"))
        self._font_config._folder = self._font_folder
        self._pid = os.getpid()
        # Parsed once per file version, with what WeasyPrint said while parsing it.
        self._stylesheets: dict[tuple[Path, float], tuple[object, list[LogEntry]]] = {}
        # Each CSS warning is reported once per Renderer: {message: the leaflet it went to}.
        self._css_reported: dict[str, str] = {}
        self._image_cache: dict = {}
        self._warmed: set[tuple[int, ...]] = set()
        self._fetcher_class = _make_fetcher_class()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary folder WeasyPrint keeps for web fonts (in the process that
        made the Renderer; a worker's own folder is inside it)."""
        if self._font_folder is not None and os.getpid() == self._pid:
            shutil.rmtree(self._font_folder, ignore_errors=True)
            self._font_folder = self._font_config._folder = None

    @property
    def _fonts(self):
        """WeasyPrint's font configuration, writing web fonts to a folder of this process's
        own. WeasyPrint writes each @font-face file to a name made from the rule and skips a
        rule whose file already exists; two workers sharing one folder would then race: one
        registers a file the other is still writing ('cannot be loaded'), or skips a font it
        never registered in its own process, and the text prints in another font."""
        if self._font_folder is not None and self._font_config._folder is not None:
            own = self._font_folder / f"process-{os.getpid()}"
            if os.getpid() != self._pid and self._font_config._folder != own:
                own.mkdir(exist_ok=True)
                self._font_config._folder = own
        return self._font_config

    def warm_up(self, stylesheets: Sequence[Path], roots: Sequence[Path]) -> None:
        """Parse `stylesheets` and lay out one line of text with them, so that leaflets made
        in child processes start with fonts and stylesheets ready instead of each loading
        them again."""
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError  # a BaseException

        sheets = [self.stylesheet(path, roots) for path in stylesheets]
        key = tuple(id(sheet) for sheet in sheets)
        if key in self._warmed:
            return
        self._warmed.add(key)
        sample = '<html lang="en"><body><h1>Aa</h1><p>Aa <strong>Aa</strong></p></body></html>'
        # With the same locked-down fetcher as a leaflet: a clinic stylesheet's url() must
        # not reach a network or a file outside the folders here either. A problem met
        # here is left for the leaflet's own render to report, with its file and line.
        with _captured_log(), contextlib.suppress(Exception, FatalURLFetchingError):
            HTML(string=sample, url_fetcher=self._fetcher_class(roots)).render(
                font_config=self._fonts, stylesheets=sheets
            )

    def stylesheet(self, path: Path, roots: Sequence[Path]):
        """A parsed stylesheet, parsed once per file version and reused."""
        return self._load(path, roots)[0]

    def check_stylesheet(self, path: Path, roots: Sequence[Path]) -> list[str]:
        """Load a stylesheet as a build would; its warnings (RenderError for errors)."""
        return [entry.message for entry in self._load(path, roots)[1]]

    def _load(self, path: Path, roots: Sequence[Path]) -> tuple[object, list[LogEntry]]:
        from weasyprint import CSS
        from weasyprint.urls import FatalURLFetchingError

        try:
            key = (path.resolve(), path.stat().st_mtime)
            size = path.stat().st_size
        except OSError as exc:
            raise RenderError(f"{path}: the stylesheet cannot be read ({exc.strerror})") from None
        if size > MAX_STYLESHEET_BYTES:
            raise RenderError(
                f"{path}: the stylesheet is {size:,} bytes; at most {MAX_STYLESHEET_BYTES:,} "
                "(a clinic's stylesheet is usually a few thousand). Is it the right file?"
            )
        if key not in self._stylesheets:
            with _captured_log() as log:
                try:
                    sheet = CSS(
                        filename=str(path),
                        font_config=self._fonts,
                        url_fetcher=self._fetcher_class(roots),
                    )
                except FatalURLFetchingError as exc:
                    raise _fetch_error(exc, [path], f"{path}") from None
                except RecursionError:
                    raise RenderError(
                        f"{path}: this stylesheet imports itself, directly or through another "
                        "file; remove the @import that leads back to it."
                    ) from None
                except (UnicodeDecodeError, ValueError) as exc:
                    raise RenderError(f"{path}: the stylesheet cannot be read ({exc})") from None
            entries = [classify(record, source=path) for record in log.records]
            self._raise_for(entries, f"The stylesheet {path} cannot be used", strict=self.strict)
            self._stylesheets[key] = (sheet, entries)
        return self._stylesheets[key]

    def render(
        self,
        html: str,
        *,
        base_url: Path,
        roots: Sequence[Path],
        stylesheets: Sequence[Path] = (),
        css: str = "",
        what: str = "leaflet",
    ) -> RenderedPdf:
        """`css` is a last rule of handouts' own (no URLs), applied after the stylesheets."""
        from weasyprint import CSS, HTML
        from weasyprint.urls import FatalURLFetchingError

        loaded = [self._load(path, roots) for path in stylesheets]
        sheets = [sheet for sheet, _ in loaded]
        entries = [entry for _, found in loaded for entry in found]
        fetcher = self._fetcher_class(roots)
        if css:
            sheets.append(CSS(string=css, font_config=self._fonts, url_fetcher=fetcher))
        options = {
            "pdf_variant": "pdf/ua-1",
            "stylesheets": sheets,
            "cache": self._image_cache,
        }
        with _captured_log() as log:
            try:
                document = HTML(
                    string=html, base_url=str(base_url) + "/", url_fetcher=fetcher
                ).render(font_config=self._fonts, **options)
                data = document.write_pdf(**options)
            except FatalURLFetchingError as exc:
                raise _fetch_error(exc, stylesheets, what) from None
            except RecursionError:
                raise RenderError(
                    f"{what} could not be made: its HTML has too many elements inside one "
                    "another; simplify the template."
                ) from None
        entries += [classify(record, candidates=stylesheets) for record in log.records]
        warnings = self._raise_for(entries, f"{what} could not be made", strict=self.strict)
        return self.once(
            RenderedPdf(
                data=data,
                pages=len(document.pages),
                warnings=[entry.message for entry in warnings],
                css_warnings=frozenset(entry.message for entry in warnings if entry.css),
                page_sizes=[(page.width, page.height) for page in document.pages],
                anchors=[dict(page.anchors) for page in document.pages],
                document=document,
            ),
            what,
        )

    def once(self, pdf: RenderedPdf, what: str) -> RenderedPdf:
        """`pdf` without the CSS warnings already said for another leaflet: a CSS warning is
        about a file, not a leaflet, so it goes with the first leaflet that met it (with
        every render of that leaflet, as fitting may redo it)."""
        pdf.warnings = [
            message
            for message in pdf.warnings
            if message not in pdf.css_warnings
            or self._css_reported.setdefault(message, what) == what
        ]
        return pdf

    @staticmethod
    def _raise_for(entries: list[LogEntry], heading: str, *, strict: bool) -> list[LogEntry]:
        """Raise a RenderError (`heading:` and a list) for the errors among `entries`;
        return the warnings, each once."""
        errors = [e.message for e in entries if e.fatal or (strict and e.css)]
        if errors:
            listed = "\n  ".join(dict.fromkeys(errors))
            note = (
                "\n(--strict: CSS that would be ignored is an error.)"
                if strict and any(e.css for e in entries)
                else ""
            )
            raise RenderError(f"{heading}:\n  {listed}{note}")
        return list({e.message: e for e in entries}.values())


def _fetch_error(exc: BaseException, stylesheets: Sequence[Path], what: str) -> RenderError:
    """A clear error for a file WeasyPrint may not fetch: the stylesheet and line that ask
    for it, when one of `stylesheets` does; else the leaflet or stylesheet `what`."""
    cause = exc.__cause__ or exc
    url = getattr(cause, "url", None) or _quoted(str(exc))
    where = f"{what}: "
    for sheet in stylesheets:
        line = _url_line(sheet, url) if url else None
        if line:
            where = f"{sheet}:{line}: "
            break
    if isinstance(cause, RecursionError):
        return RenderError(
            f"{where}a stylesheet imports itself, directly or through another file; remove "
            "the @import that leads back to it."
        )
    advice = getattr(cause, "advice", "")
    return RenderError(
        f"{where}blocked or missing file: {cause}" + (f". {advice}." if advice else "")
    )


def _quoted(message: str) -> str | None:
    """The URL in WeasyPrint's 'Error fetching "URL"'."""
    found = re.search(r'"(.*)"', message)
    return found[1] if found else None


def _url_line(path: Path, url: str) -> int | None:
    """The line of `path` (a stylesheet) whose url() or @import names `url`, if any."""
    import tinycss2
    from weasyprint.urls import path2url

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    base = path2url(str(path))
    wanted = unquote(url)

    def walk(tokens) -> int | None:
        for token in tokens:
            if token.type in ("url", "string") and unquote(urljoin(base, token.value)) == wanted:
                return token.source_line
            for inner in (getattr(token, "content", None), getattr(token, "arguments", None)):
                found = walk(inner) if inner else None
                if found:
                    return found
        return None

    return walk(tinycss2.parse_component_value_list(text))
