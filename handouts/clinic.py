"""A clinic folder: its brand file, logo and (later) template overrides.

    <clinic>/
      clinic.yaml        name, contact details, colours, logo, defaults
      assets/logo.svg    the logo the brand file points at
      templates/         optional template overrides

`handouts build --clinic NAME` takes a clinic bundled with handouts;
`--clinic PATH` takes any clinic folder.
"""

from __future__ import annotations

import base64
import colorsys
import io
import math
import re
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

from .content import not_found
from .errors import ContentError, Problem, UserError, unusable_name
from .models import ClinicFile, Review
from .paths import clinics_dir
from .yamlfile import field_name, hidden_by_comments, line_of, load_yaml, validate_tree

BRAND_FILE = "clinic.yaml"
DEFAULT_CLINIC = "neutral"

LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


@dataclass(frozen=True)
class Logo:
    uri: str  # a data: URI, so PDFs do not depend on where the files live
    alt: str
    position: str


@dataclass(frozen=True)
class FontFace:
    family: str
    uri: str
    weight: str
    style: str


@dataclass(frozen=True)
class Clinic:
    """A loaded, checked clinic."""

    name: str  # the folder name; used in output paths
    folder: Path
    brand: ClinicFile
    colours: dict[str, str] = field(default_factory=dict)  # semantic name -> #rrggbb
    logo: Logo | None = None
    font_faces: tuple[FontFace, ...] = ()
    extra_css: tuple[Path, ...] = ()
    # Things to fix that do not stop a build (a logo file far larger than it needs to be).
    warnings: tuple[Problem, ...] = ()

    def sign_off(self, treatment: str, language: str, review: Review) -> tuple[str, date] | None:
        """Who signed this version of the leaflet off, and when: in the content itself, or
        in this clinic's `approvals` (the latest that names this version). None: a draft."""
        if review.approved_by and review.approved_on:
            return review.approved_by, review.approved_on
        signed = [
            (a.signed_on, a.signed_by)
            for a in self.brand.approvals
            if a.language == language and a.leaflets.get(treatment) == review.version
        ]
        if not signed:
            return None
        on, by = max(signed)
        return by, on

    def qr_url(self, treatment: str, lang: str) -> str | None:
        """The address the QR code opens: `contact.qr_url` (which may name the leaflet
        with {treatment} and {lang}), else the clinic's website."""
        contact = self.brand.contact
        if contact.qr_url:
            return contact.qr_url.format(treatment=treatment, lang=lang)
        if contact.website:
            site = contact.website
            return site if re.match(r"^https?://", site) else f"https://{site}"
        return None

    def qr_uri(self, treatment: str, lang: str) -> str | None:
        url = self.qr_url(treatment, lang)
        return qr_data_uri(url) if url else None

    @property
    def display_name(self) -> str | None:
        return self.brand.meta.name

    @property
    def template_dir(self) -> Path:
        return self.folder / "templates"


def bundled_clinics() -> list[str]:
    folder = clinics_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / BRAND_FILE).is_file())


def find_clinic(spec: str | None) -> Path:
    """A bundled clinic name, or a path to a clinic folder, whose clinic.yaml is in it
    (not a link to a file elsewhere)."""
    spec = spec or DEFAULT_CLINIC
    try:
        folder = _find_clinic(spec)
        brand = folder / BRAND_FILE
        if not brand.resolve().is_relative_to(folder.resolve()):
            raise UserError(
                f"{brand} is a link to {brand.resolve()}, outside the clinic folder; a clinic "
                f"folder must hold its own {BRAND_FILE}. Copy the file into the folder."
            )
        return folder
    except (OSError, ValueError) as exc:  # a name too long, or with a NUL byte in it
        shown, reason = unusable_name(spec, exc)
        raise UserError(
            f"Clinic {shown} is not a clinic name or folder ({reason}). Give a name from "
            "'handouts list' or the path to your clinic folder."
        ) from None


def _find_clinic(spec: str) -> Path:
    candidate = Path(spec).expanduser()
    looks_like_path = "/" in spec or spec.startswith(".") or candidate.is_dir()
    if looks_like_path:
        if not candidate.is_dir():
            raise UserError(f"Clinic folder {spec} does not exist.")
        if not (candidate / BRAND_FILE).is_file():
            raise UserError(
                f"{spec} is not a clinic folder: it has no {BRAND_FILE}. "
                "Make one with 'handouts clinic init FOLDER'."
            )
        return candidate.resolve()
    if spec not in bundled_clinics():
        raise not_found("clinic", spec, bundled_clinics(), " (give a path to a clinic folder)")
    return clinics_dir() / spec


def load_clinic(spec: str | None) -> Clinic:
    """Load a clinic folder and check everything in it; raise ContentError listing every problem."""
    folder = find_clinic(spec)
    path = folder / BRAND_FILE
    tree = load_yaml(path)
    brand = validate_tree(tree, path, ClinicFile)
    problems: list[Problem] = []
    notes: list[Problem] = []

    def problem(loc: tuple, message: str) -> None:
        problems.append(Problem(path, line_of(tree, loc), field_name(loc), message))

    def warning(loc: tuple, message: str) -> None:
        notes.append(Problem(path, line_of(tree, loc), field_name(loc), message))

    for loc, _, value in hidden_by_comments(tree, path.read_text(encoding="utf-8")):
        warning(
            loc,
            f"is empty: YAML reads everything after '#' as a note, so '{value}' was left "
            f'out. Write the value in quotes, e.g. {loc[-1]}: "{value}" (without the # if it '
            "is not part of the value)",
        )

    colours = resolve_colours(brand, problem)
    if len(colours) == len(COLOUR_ROLES):
        for loc, message in contrast_problems(colours):
            problem(loc, message)

    logo = None
    chosen = brand.logo.for_header()
    for size in ("small", "medium", "large"):
        image = getattr(brand.logo, size)
        if image is None:
            continue
        printed = bool(chosen and chosen[0] == size)
        try:
            uri, note = logo_data_uri(folder, image.path, printed=printed)
        except ValueError as exc:
            problem(("logo", size, "path"), str(exc))
            continue
        if note:
            warning(("logo", size, "path"), note)
        if printed:
            logo = Logo(uri, image.alt, brand.logo.position)

    faces = []
    for i, family in enumerate(brand.typography.fonts):
        for j, font in enumerate(family.files):
            try:
                uri = data_uri(folder, font.path, FONT_TYPES, check=_check_font)
            except ValueError as exc:
                problem(("typography", "fonts", i, "files", j, "path"), str(exc))
                continue
            faces.append(FontFace(family.family, uri, str(font.weight), font.style))
    own_families = {f.family.casefold() for f in brand.typography.fonts}
    for role in ("base", "headings"):
        use = getattr(brand.typography, role)
        if use and use.family.casefold() not in own_families and not font_installed(use.family):
            problem(
                ("typography", role, "family"),
                f"no font called '{use.family}' is installed on this computer; add its "
                "files under typography.fonts, or choose an installed family",
            )

    extra = []
    for i, relative in enumerate(brand.extra_css):
        try:
            extra.append(inside(folder, relative, {".css"}, "a stylesheet (.css)"))
        except ValueError as exc:
            problem(("extra_css", i), str(exc))

    if problems:
        raise ContentError(problems)
    return Clinic(
        folder.name, folder, brand, colours, logo, tuple(faces), tuple(extra), tuple(notes)
    )


# --------------------------------------------------------------------------- files


def inside(folder: Path, relative: str, suffixes, kind: str) -> Path:
    """The file `relative` inside `folder` (links resolved); a ValueError says what is wrong."""
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"'{relative}' is outside the clinic folder; put it in assets/")
    if not path.is_file():
        raise ValueError(f"there is no file '{relative}' in the clinic folder {folder}")
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"'{relative}' should be {kind}")
    return path


def data_uri(folder: Path, relative: str, types: dict[str, str], check) -> str:
    path = inside(folder, relative, types, _describe(types))
    mime = types[path.suffix.lower()]
    data = path.read_bytes()
    check(data, mime, relative)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _describe(types: dict[str, str]) -> str:
    names = sorted({suffix.lstrip(".").upper() for suffix in types} - {"JPEG"})
    return "a " + ", ".join(names[:-1]) + " or " + names[-1] + " file"


FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff"}


def _check_font(data: bytes, mime: str, name: str) -> None:
    from fontTools.ttLib import TTFont, TTLibError  # fontTools comes with WeasyPrint

    try:
        font = TTFont(io.BytesIO(data), lazy=True)
        font["cmap"]  # a font without a character map cannot print text
    except (TTLibError, KeyError, OSError, ValueError, AssertionError) as exc:
        raise ValueError(f"'{name}' cannot be read as a font ({exc})") from None


@lru_cache(maxsize=1)
def installed_families() -> frozenset[str] | None:
    """The font families fontconfig knows (casefolded), asked once; None if it cannot say."""
    try:
        found = subprocess.run(
            ["fc-list", ":", "family"], capture_output=True, text=True, check=False, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return frozenset(
        name.strip().casefold() for line in found.splitlines() for name in line.split(",")
    )


def font_installed(family: str) -> bool:
    """Whether fontconfig knows a font family of this name (True when it cannot tell,
    so that a missing fc-list does not block the build)."""
    names = installed_families()
    return names is None or family.casefold() in names


@lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    """A QR code for `url` as an inline SVG data: URI (made here: no network, no files)."""
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        buffer,
        kind="svg",
        scale=4,
        border=4,
        xmldecl=False,
        svgns=True,
        dark="#000000",
        light="#ffffff",
    )
    return f"data:image/svg+xml;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


# --------------------------------------------------------------------------- logo


# The largest a built-in style prints a logo: 20 mm tall (large-print.css) and at most
# 70 mm wide (trifold.css). A raster logo keeps enough pixels for 300 dpi at twice that,
# so that a clinic's stylesheet may print it larger and it stays sharp: 1654 x 473 pixels.
LOGO_PRINT_MM = (70, 20)  # (width, height); tests check them against templates/styles
LOGO_DPI = 300
LOGO_HEADROOM = 2
LOGO_MAX_PIXELS = tuple(math.ceil(mm * LOGO_HEADROOM / 25.4 * LOGO_DPI) for mm in LOGO_PRINT_MM)
# A logo with more pixels than this is refused before it is decoded: decoding alone would
# take seconds and gigabytes of memory (a 40-megapixel photo is still accepted).
MAX_IMAGE_PIXELS = 50_000_000
# A logo file larger than this gets a warning: it is shrunk for every build, which is slow.
LARGE_LOGO_BYTES = 5_000_000
# A small raster logo is embedded as it is, unless its file is larger than this (it then
# carries metadata or poor compression that every PDF would repeat).
REENCODE_ABOVE_BYTES = 1_000_000
MAX_ICC_PROFILE_BYTES = 256_000
ORIENTATION = 0x0112  # the EXIF tag that says a photo is turned or mirrored


def logo_data_uri(folder: Path, relative: str, printed: bool = True) -> tuple[str, str | None]:
    """A logo as a data: URI (checked; a raster logo larger than its printed size needs is
    scaled down and re-encoded, the same bytes every time), and a warning when the file is
    far larger than a logo needs. ValueError says what is wrong with it."""
    path = inside(folder, relative, LOGO_TYPES, _describe(LOGO_TYPES))
    mime = LOGO_TYPES[path.suffix.lower()]
    data = path.read_bytes()
    size = _check_image(data, mime, relative)
    note = _large_logo_note(relative, len(data), size)
    if printed and mime != "image/svg+xml":
        data, mime = _fit_logo(data, mime, relative)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", note


def _large_logo_note(name: str, length: int, size: tuple[int, int] | None) -> str | None:
    if length <= LARGE_LOGO_BYTES:
        return None
    megabytes = f"{length / 1_000_000:.1f} MB"
    width, height = LOGO_MAX_PIXELS
    if size is None:
        return (
            f"'{name}' is a {megabytes} file; a logo needs well under 1 MB, and a large SVG "
            "file makes every leaflet slow and large (it often has a photo inside). Save a "
            "simpler or smaller copy and point to it here."
        )
    return (
        f"'{name}' is a {megabytes} file ({size[0]} x {size[1]} pixels); a logo needs well "
        f"under 1 MB. handouts shrinks it to at most {width} x {height} pixels for every "
        "build, which is slow: save a copy of about that size and point to it here."
    )


_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#|data:)([^'\")\s]+)|@import\s+['\"]([^'\"]+)", re.I)


def _svg_outside_references(root: ElementTree.Element) -> tuple[str, str] | None:
    """(element, reference) for the first link in an SVG to anything but itself (`#id`) or
    an embedded data: URI: an <image>, <use> or <a> with href, or url()/@import in CSS."""
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1]
        for key, value in element.attrib.items():
            value = value.strip()
            if key.rsplit("}", 1)[-1] == "href" and value and not value.startswith(("#", "data:")):
                return tag, value
            found = _CSS_URL.search(value) if key == "style" else None
            if found:
                return tag, found[1] or found[2]
        found = _CSS_URL.search(element.text or "") if tag == "style" else None
        if found:
            return tag, found[1] or found[2]
    return None


def _check_image(data: bytes, mime: str, name: str) -> tuple[int, int] | None:
    """Check a logo file; its (width, height) in pixels, or None for an SVG."""
    if mime == "image/svg+xml":
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError as exc:
            raise ValueError(f"'{name}' is not a readable SVG file ({exc})") from None
        if not root.tag.endswith("svg"):
            raise ValueError(f"'{name}' is not an SVG image (its top element is {root.tag})")
        outside = _svg_outside_references(root)
        if outside:
            element, target = outside
            raise ValueError(
                f"'{name}' uses another file or address ({target!r}, in an <{element}>); "
                "a logo must be one self-contained file. Save it with the picture embedded, "
                "or as PNG"
            )
        return None
    from PIL import Image  # Pillow comes with WeasyPrint

    try:
        with _quiet_pillow(), Image.open(io.BytesIO(data)) as image:
            kind, size = image.format, image.size
            if size[0] * size[1] > MAX_IMAGE_PIXELS:
                raise ValueError(_too_many_pixels(name, size[0] * size[1], size))
            image.verify()
    except ValueError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit, far above ours
        count = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(count[1]) if count else MAX_IMAGE_PIXELS * 4
        raise ValueError(_too_many_pixels(name, pixels, None)) from None
    except Exception as exc:  # Pillow raises many kinds of error for a broken file
        raise ValueError(_unreadable(name, mime, exc)) from None
    expected = {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
    if kind != expected:
        raise ValueError(f"'{name}' is a {kind} image but its name says {expected}")
    return size


def _too_many_pixels(name: str, pixels: int, size: tuple[int, int] | None) -> str:
    shown = f"{size[0]} x {size[1]} pixels, " if size else ""
    most_w, most_h = LOGO_MAX_PIXELS
    return (
        f"'{name}' is too large an image ({shown}{pixels / 1e6:.0f} megapixels); a logo may "
        f"have at most {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels and needs no more than about "
        f"{most_w} x {most_h} pixels. Save a smaller copy and point to it here."
    )


@contextmanager
def _quiet_pillow() -> Iterator[None]:
    """Pillow's own warnings (DecompressionBombWarning, broken metadata) are not shown:
    handouts checks sizes itself and says what to do."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _fit_logo(data: bytes, mime: str, name: str) -> tuple[bytes, str]:
    """A raster logo at no more than LOGO_MAX_PIXELS (aspect kept), re-encoded the same way
    every time: PNG stays PNG (transparency kept), JPEG stays JPEG. A logo already small
    enough, in a small file, is returned as it is."""
    from PIL import Image, ImageOps

    max_w, max_h = LOGO_MAX_PIXELS
    try:
        with _quiet_pillow(), Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            small = width <= max_w and height <= max_h
            if small and len(data) <= REENCODE_ABOVE_BYTES:
                return data, mime
            turn = image.getexif().get(ORIENTATION, 1)
            if image.format == "JPEG":  # decode at a reduced scale (never below the box): faster
                image.draft(image.mode, (max_h, max_w) if turn in (5, 6, 7, 8) else (max_w, max_h))
            icc = image.info.get("icc_profile")
            fitted = image
            if turn != 1:
                fitted = ImageOps.exif_transpose(image)  # looks the same once EXIF is gone
            fitted = _resizable(fitted)
            fitted.thumbnail((max_w, max_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            extra = {"icc_profile": icc} if icc and len(icc) <= MAX_ICC_PROFILE_BYTES else {}
            if mime == "image/jpeg":
                if fitted.mode not in ("L", "RGB", "CMYK"):
                    fitted = fitted.convert("RGB")
                fitted.save(out, "JPEG", quality=90, optimize=True, **extra)
            else:
                fitted.save(out, "PNG", compress_level=6, **extra)
    except Exception as exc:  # a file Pillow checked but cannot decode: say so, plainly
        raise ValueError(_unreadable(name, mime, exc)) from None
    return out.getvalue(), mime


def _unreadable(name: str, mime: str, exc: Exception) -> str:
    """Why an image cannot be used, in words (Pillow's own messages name Python objects,
    such as '<_io.BytesIO object at 0x...>')."""
    kind = {"image/png": "PNG", "image/jpeg": "JPEG"}.get(mime, "image")
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return (
            f"'{name}' is not a {kind} image that can be read: it may be damaged, or another "
            f"kind of file given a .{kind.lower()} name. Save the logo again as {kind}"
        )
    detail = re.sub(r"<[^<>]* at 0x[0-9a-f]+>", "the file", str(exc)).strip()
    return (
        f"'{name}' cannot be read as a {kind} image ({detail or 'it is damaged'}); save the "
        "logo again"
    )


def _resizable(image):
    """The image in a mode Pillow resizes well, with any transparency as an alpha channel."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK") and "transparency" not in image.info:
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if image.mode.startswith("I"):  # 16- or 32-bit grey: scale to 8 bits, do not clip
        image = image.convert("I").point(lambda v: v / 257).convert("L")
    if image.mode in ("L", "1") and not has_alpha:
        return image.convert("L")
    return image.convert("RGBA" if has_alpha else "RGB")


# --------------------------------------------------------------------------- colours


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two #rrggbb colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def nearest_passing(colour: str, background: str, needed: float) -> str | None:
    """The closest colour of the same hue, darker or lighter, that reaches the ratio."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    direction = -1 if luminance(background) > 0.18 else 1
    for step in range(1, 101):
        candidate_l = lightness + direction * step / 100
        if not 0 <= candidate_l <= 1:
            break
        rgb = colorsys.hls_to_rgb(h, candidate_l, s)
        candidate = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
        if contrast(candidate, background) >= needed:
            return candidate
    return None


COLOUR_ROLES = ("foreground", "background", "primary", "emergency")

# (colour, what it is used for, the ratio it needs against the background)
CONTRAST_RULES = [
    ("foreground", "body text", 4.5),
    ("primary", "headings, step numbers and the 'when to call us' box", 4.5),
    ("emergency", "the emergency box", 4.5),
]


def resolve_colours(brand: ClinicFile, problem) -> dict[str, str]:
    """Semantic colours as #rrggbb, with palette names looked up."""
    palette = brand.color.palette
    resolved = {}
    for role in COLOUR_ROLES:
        value = getattr(brand.color, role)
        if value.startswith("#"):
            resolved[role] = value
        elif value in palette:
            resolved[role] = palette[value]
        else:
            known = ", ".join(sorted(palette)) or "none yet"
            problem(
                ("color", role),
                f"'{value}' is not a colour in color.palette (the palette has: {known})",
            )
    return resolved


def contrast_problems(colours: dict[str, str]) -> list[tuple[tuple, str]]:
    found = []
    background = colours["background"]
    for role, use, needed in CONTRAST_RULES:
        colour = colours[role]
        ratio = contrast(colour, background)
        if ratio < needed:
            better = nearest_passing(colour, background, needed)
            hint = f"; {better} is close and passes" if better else ""
            found.append(
                (
                    ("color", role),
                    f"color.{role} {colour} on color.background {background} has a "
                    f"contrast of {ratio:.1f}:1, too low for {use} (needs {needed}:1)"
                    f"{hint}",
                )
            )
    return found
