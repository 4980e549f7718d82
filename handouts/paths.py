"""Where the bundled content, templates and clinics live.

In a source checkout they sit at the top of the repository, beside the package;
in an installed wheel they are copied into the package as `_data/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    bundled = PACKAGE / "_data"
    return bundled if bundled.is_dir() else PACKAGE.parent


def content_dir() -> Path:
    return data_root() / "content"


def templates_dir() -> Path:
    return data_root() / "templates"


def clinics_dir() -> Path:
    return data_root() / "clinics"


def styles_dir() -> Path:
    return templates_dir() / "styles"
