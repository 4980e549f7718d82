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
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from .content import not_found
from .errors import ContentError, Problem, UserError
from .models import ClinicFile
from .paths import clinics_dir
from .yamlfile import line_of, load_yaml, validate_tree

BRAND_FILE = "clinic.yaml"
DEFAULT_CLINIC = "neutral"

LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


@dataclass(frozen=True)
class Clinic:
    """A loaded, checked clinic."""

    name: str  # the folder name; used in output paths
    folder: Path
    brand: ClinicFile
    logo_uri: str | None  # the logo as a data: URI, so PDFs do not depend on where files live

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
                f"Copy one from a bundled clinic (handouts list shows them) and edit it."
            )
        return candidate.resolve()
    if spec not in bundled_clinics():
        raise not_found("clinic", spec, bundled_clinics(), " (give a path to a clinic folder)")
    return clinics_dir() / spec


def load_clinic(spec: str | None) -> Clinic:
    folder = find_clinic(spec)
    path = folder / BRAND_FILE
    tree = load_yaml(path)
    brand = validate_tree(tree, path, ClinicFile)
    problems = contrast_problems(brand, tree, path)
    logo_uri = None
    if brand.logo is not None:
        try:
            logo_uri = logo_data_uri(folder, brand.logo.path)
        except ValueError as exc:
            problems.append(Problem(path, line_of(tree, ("logo", "path")), "logo.path", str(exc)))
    if problems:
        raise ContentError(problems)
    return Clinic(name=folder.name, folder=folder, brand=brand, logo_uri=logo_uri)


# --------------------------------------------------------------------------- logo


def logo_data_uri(folder: Path, relative: str) -> str:
    """Check that the logo is inside the clinic folder and decodes; return it as a data: URI."""
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"'{relative}' is outside the clinic folder; put the logo in assets/")
    if not path.is_file():
        raise ValueError(f"there is no file '{relative}' in the clinic folder {folder}")
    mime = LOGO_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"'{relative}' should be an SVG, PNG or JPEG file")
    data = path.read_bytes()
    _check_decodes(data, mime, relative)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _check_decodes(data: bytes, mime: str, name: str) -> None:
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


# (colour field, what it is used for, the ratio it needs against the background)
CONTRAST_RULES = [
    ("text", "body text", 4.5),
    ("primary", "headings and the 'when to call us' box", 4.5),
    ("emergency", "the emergency box", 4.5),
]


def contrast_problems(brand: ClinicFile, tree, path: Path) -> list[Problem]:
    problems = []
    background = brand.color.background
    for field, use, needed in CONTRAST_RULES:
        colour = getattr(brand.color, field)
        ratio = contrast(colour, background)
        if ratio < needed:
            better = nearest_passing(colour, background, needed)
            hint = f"; {better} is close and passes" if better else ""
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("color", field)),
                    f"color.{field}",
                    f"{colour} on the background {background} has a contrast of {ratio:.1f}:1, "
                    f"too low for {use} (needs {needed}:1){hint}",
                )
            )
    return problems
