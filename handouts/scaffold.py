"""`handouts clinic init`: a working clinic folder to start from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .errors import UserError
from .paths import PACKAGE

STARTER = PACKAGE / "starter"


def init_clinic(folder: Path, name: str | None = None) -> list[Path]:
    """Create a clinic folder from the starter files; never touch an existing, non-empty one."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError(
            f"{folder} already exists and is not empty, so nothing was written. "
            "Choose a new folder name."
        )
    if name is not None and (not name.strip() or any(ord(c) < 32 for c in name)):
        raise UserError("The clinic name must be plain text on one line.")
    shutil.copytree(STARTER, folder, dirs_exist_ok=True)
    brand = folder / "clinic.yaml"
    name_line = f"name: {json.dumps(name.strip())}" if name else "# name: Your clinic's name"
    brand.write_text(brand.read_text().replace("__NAME_LINE__", name_line), encoding="utf-8")
    return sorted(p for p in folder.rglob("*") if p.is_file())
