"""Golden HTML for one leaflet: any change to templates or content shows up as a diff.

After a deliberate change, refresh the file with:
    HANDOUTS_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
and review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from handouts.clinic import load_clinic
from handouts.content import Library
from handouts.paths import content_dir
from handouts.templating import Page, build_context, make_env, render_html

from .conftest import TREATMENT

GOLDEN = Path(__file__).parent / "golden" / f"{TREATMENT}.riverside-dermatology.html"


def test_html_matches_golden_file():
    library = Library(content_dir())
    clinic = load_clinic("riverside-dermatology")
    context = build_context(
        library, TREATMENT, library.locale("en-GB"), clinic, Page("a4", "standard")
    )
    html = render_html(make_env(clinic), context)
    if os.environ.get("HANDOUTS_UPDATE_GOLDEN"):
        GOLDEN.write_text(html, encoding="utf-8")
    assert html == GOLDEN.read_text(encoding="utf-8")
