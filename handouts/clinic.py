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
import re
import subprocess
import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

from .content import not_found
from .errors import ContentError, Problem, UserError
from .models import ClinicFile, Review
from .paths import clinics_dir
from .yamlfile import field_name, line_of, load_yaml, validate_tree

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
    """A bundled clinic name, or a path to a clinic folder."""
    spec = spec or DEFAULT_CLINIC
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

    def problem(loc: tuple, message: str) -> None:
        problems.append(Problem(path, line_of(tree, loc), field_name(loc), message))

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
        try:
            uri = data_uri(folder, image.path, LOGO_TYPES, check=_check_image)
        except ValueError as exc:
            problem(("logo", size, "path"), str(exc))
            continue
        if chosen and chosen[0] == size:
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
    return Clinic(folder.name, folder, brand, colours, logo, tuple(faces), tuple(extra))


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


def _check_image(data: bytes, mime: str, name: str) -> None:
    if mime == "image/svg+xml":
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError as exc:
            raise ValueError(f"'{name}' is not a readable SVG file ({exc})") from None
        if not root.tag.endswith("svg"):
            raise ValueError(f"'{name}' is not an SVG image (its top element is {root.tag})")
        return
    from PIL import Image  # Pillow comes with WeasyPrint

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
                kind = image.format
    except Exception as exc:  # Pillow raises many kinds of error for a broken file
        raise ValueError(f"'{name}' cannot be read as an image ({exc})") from None
    expected = {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
    if kind != expected:
        raise ValueError(f"'{name}' is a {kind} image but its name says {expected}")


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
