"""Which letters the leaflets' fonts can print, read from the font files with fontTools.

The styles name their fonts per script (templates/styles/standard.css): a clinic's own font
first, then Noto Sans (Latin, with Vietnamese), Noto Sans Arabic, Noto Sans CJK SC
(Simplified Chinese) and DejaVu Sans. `handouts check` uses this module to find, before
anything is printed, a letter none of them has: it would print as an empty box.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

# The fonts every style names, in order (see standard.css).
STYLE_FONTS = ("Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC", "DejaVu Sans")
INSTALL_HINT = (
    "Install the fonts with the project's install step (make install; Debian packages "
    "fonts-noto-core and fonts-noto-cjk)"
)


@cache
def installed_font(family: str) -> tuple[Path, int] | None:
    """The file (and index in a collection) of an installed font family, or None when
    fontconfig would give another family instead."""
    if shutil.which("fc-match") is None:
        return None
    try:
        done = subprocess.run(
            ["fc-match", "-f", "%{family}\n%{file}\n%{index}", family],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.split("\n")
    if done.returncode != 0 or len(lines) < 3:
        return None
    families = [name.strip().lower() for name in lines[0].split(",")]
    if family.lower() not in families:
        return None
    return Path(lines[1]), int(lines[2] or 0)


@cache
def characters_of(path: Path, index: int = 0) -> frozenset[int]:
    """Every character a font file has a glyph for (empty if the file cannot be read)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), fontNumber=index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # a broken or unknown file covers nothing; the build says why
        return frozenset()


def printable(text: str) -> Iterable[str]:
    """The characters of a text that need a glyph: not spaces, line breaks or invisible
    formatting characters (such as the direction marks handouts adds to Arabic)."""
    for ch in dict.fromkeys(text):
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            continue
        yield ch


class FontSet:
    """The fonts every style names, and the letters they have between them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.missing: list[str] = []
        self._covered: set[int] = set()
        for family in STYLE_FONTS:
            found = installed_font(family)
            if found is None:
                self.missing.append(family)
                continue
            self.names.append(family)
            self._covered |= characters_of(*found)

    def lacks(self, text: str) -> list[str]:
        """The characters of `text` that no font of the set can print."""
        return [ch for ch in printable(text) if ord(ch) not in self._covered]

    def describe(self) -> str:
        return ", ".join(self.names) or "no fonts"


def character_name(ch: str) -> str:
    """'ก' (U+0E01 THAI CHARACTER KO KAI)."""
    name = unicodedata.name(ch, "unnamed character")
    return f"'{ch}' (U+{ord(ch):04X} {name})"
