"""Where leaflets are written, and writing them safely.

Names are stable and carry no dates: `<out>/<clinic>/<lang>/<treatment>-<style>-<paper>.pdf`,
with `-print` before `.pdf` for a print-shop copy (bleed or crop marks). Nothing about
a patient ever goes into a name.
A file is written to a temporary name in the same folder and then renamed, so a
failed or interrupted build never leaves half a PDF. A file that handouts did not
make is never overwritten.
"""

from __future__ import annotations

import os
import re
import tempfile
import zlib
from pathlib import Path

from .errors import UserError

MARKER = b"/Creator (handouts "  # written into every PDF's metadata by the templates
_STREAM = re.compile(rb"stream\r?\n")


def output_path(
    out_dir: Path,
    clinic: str,
    lang: str,
    treatment: str,
    style: str,
    paper: str,
    for_print_shop: bool = False,
) -> Path:
    suffix = "-print" if for_print_shop else ""
    return out_dir / clinic / lang / f"{treatment}-{style}-{paper}{suffix}.pdf"


def made_by_handouts(path: Path) -> bool:
    """True for a PDF whose metadata names handouts as its creator."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if not data.startswith(b"%PDF-"):
        return False
    if MARKER in data:
        return True
    # The metadata usually sits in a compressed object stream.
    for match in _STREAM.finditer(data):
        try:
            if MARKER in zlib.decompressobj().decompress(data[match.end() : match.end() + 65536]):
                return True
        except zlib.error:
            continue
    return False


def check_writable(path: Path) -> None:
    """Refuse to replace a file that handouts did not make."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; cannot write a leaflet there.")
    if path.exists() and not made_by_handouts(path):
        raise UserError(
            f"{path} already exists and was not made by handouts, so it was left alone. "
            "Move it away or choose another folder with --out."
        )


def write_text_safely(path: Path, text: str, marker: str) -> None:
    """Write a generated text file; replace an existing file only if it carries `marker`."""
    if path.exists() and marker not in path.read_text(encoding="utf-8", errors="replace"):
        raise UserError(
            f"{path} already exists and was not made by handouts, so it was left alone. "
            "Choose another file name."
        )
    _replace(path, text.encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    check_writable(path)
    _replace(path, data)


def _replace(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise UserError(f"Cannot write to {path.parent}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UserError(f"Cannot write {path}: {exc.strerror}.") from None
        raise
