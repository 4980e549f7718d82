"""HTML to PDF with WeasyPrint, locked down.

- Only `file:` and `data:` URLs load, and files only from inside the allowed folders
  (the built-in templates and the clinic's own folder). Anything else stops the render.
- WeasyPrint's log is captured: an image or font that fails to load, or a missing
  `lang` or `alt`, is an error, never a blank space in a printed leaflet.
- One `Renderer` reuses its font configuration and parsed stylesheets for every
  leaflet it makes, and removes its temporary font folder when closed.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import RenderError

# WeasyPrint messages that mean the leaflet would be missing something (besides every
# message logged at ERROR level, such as a missing `lang` or `alt` in a tagged PDF).
FATAL_PATTERNS = re.compile(
    r"Failed to load|Failed to handle|\.notdef glyph|has no required alt|lang\b",
    re.IGNORECASE,
)
_MISSING_GLYPH = re.compile(
    r"\.notdef glyph rendered for Unicode string unsupported by fonts: "
    r"\"(.*)\" \((U\+[0-9A-F]+)\)"
)


def _explain(message: str) -> str:
    """WeasyPrint's wording, made plain where we know what it means."""
    glyph = _MISSING_GLYPH.match(message)
    if glyph:
        return (
            f"no installed font has the character {glyph[1]!r} ({glyph[2]}); it would print "
            "as an empty box. Install a font for this language (Debian: fonts-noto-core, "
            "fonts-noto-cjk) or remove the character."
        )
    return message


class BlockedURL(Exception):
    """A template, stylesheet or image asked for something it may not read."""


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
                raise BlockedURL(f"'{url}' is not a local file; leaflets never load from a network")
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise BlockedURL(f"'{url}' is on another computer")
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                allowed = ", ".join(str(r) for r in self.roots)
                raise BlockedURL(f"'{path}' is outside the folders a leaflet may use ({allowed})")
            if not path.is_file():
                raise BlockedURL(f"'{path}' does not exist")
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
    """Makes PDFs from HTML. Use as a context manager; one per process or batch."""

    def __init__(self) -> None:
        from weasyprint.text.fonts import FontConfiguration

        self._font_config = FontConfiguration()
        self._stylesheets: dict[tuple[Path, float], object] = {}
        self._image_cache: dict = {}
        self._fetcher_class = _make_fetcher_class()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary folder WeasyPrint keeps for web fonts, if it made one."""
        folder = getattr(self._font_config, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
            self._font_config._folder = None

    def stylesheet(self, path: Path, roots: Sequence[Path]):
        """A parsed stylesheet, parsed once per file version and reused."""
        from weasyprint import CSS

        key = (path.resolve(), path.stat().st_mtime)
        if key not in self._stylesheets:
            with _captured_log() as log:
                self._stylesheets[key] = CSS(
                    filename=str(path),
                    font_config=self._font_config,
                    url_fetcher=self._fetcher_class(roots),
                )
            _raise_for(log.records, f"stylesheet {path}")
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

        sheets = [self.stylesheet(path, roots) for path in stylesheets]
        if css:
            sheets.append(CSS(string=css, font_config=self._font_config))
        fetcher = self._fetcher_class(roots)
        options = {
            "pdf_variant": "pdf/ua-1",
            "stylesheets": sheets,
            "cache": self._image_cache,
        }
        with _captured_log() as log:
            try:
                document = HTML(
                    string=html, base_url=str(base_url) + "/", url_fetcher=fetcher
                ).render(font_config=self._font_config, **options)
                data = document.write_pdf(**options)
            except FatalURLFetchingError as exc:
                cause = exc.__cause__ or exc
                raise RenderError(f"{what}: blocked or missing file: {cause}") from None
        warnings = _raise_for(log.records, what)
        return RenderedPdf(
            data=data,
            pages=len(document.pages),
            warnings=warnings,
            page_sizes=[(page.width, page.height) for page in document.pages],
            anchors=[dict(page.anchors) for page in document.pages],
        )


def _raise_for(records: list[logging.LogRecord], what: str) -> list[str]:
    """Turn WeasyPrint's log into errors (broken leaflet) and warnings (everything else)."""
    errors, warnings = [], []
    for record in records:
        message = record.getMessage()
        if record.levelno >= logging.ERROR or FATAL_PATTERNS.search(message):
            errors.append(_explain(message))
        else:
            warnings.append(message)
    if errors:
        listed = "\n  ".join(dict.fromkeys(errors))
        raise RenderError(f"{what} could not be made:\n  {listed}")
    return warnings
