"""`handouts clinic init`: a working clinic folder to start from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import ValidationError

from .errors import UserError, unusable_name
from .models import ClinicMeta
from .paths import PACKAGE

STARTER = PACKAGE / "starter"


def init_clinic(folder: Path, name: str | None = None) -> list[Path]:
    """Create a clinic folder from the starter files; never touch an existing, non-empty one."""
    try:
        taken = folder.exists() and (not folder.is_dir() or any(folder.iterdir()))
    except (OSError, ValueError) as exc:  # a name too long, or with a NUL in it
        shown, reason = unusable_name(folder, exc)
        raise UserError(
            f"The folder {shown} cannot be made ({reason}). Choose a shorter, plain name."
        ) from None
    if taken:
        raise UserError(
            f"{folder} already exists and is not empty, so nothing was written. "
            "Choose a new folder name."
        )
    if name is not None:
        if not name.strip() or "\n" in name:
            raise UserError("The clinic name (--name) must be plain text on one line.")
        try:  # the same rules as the name in clinic.yaml, so the new clinic loads
            ClinicMeta(name=name.strip())
        except ValidationError as exc:
            reason = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise UserError(f"The clinic name (--name) {reason}.") from None
    shutil.copytree(STARTER, folder, dirs_exist_ok=True)
    brand = folder / "clinic.yaml"
    name_line = f"name: {json.dumps(name.strip())}" if name else "# name: Your clinic's name"
    brand.write_text(brand.read_text().replace("__NAME_LINE__", name_line), encoding="utf-8")
    return sorted(p for p in folder.rglob("*") if p.is_file())
