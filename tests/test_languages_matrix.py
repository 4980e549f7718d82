"""Every leaflet in every style in each of the six translated languages (issue 10): the
slow end-to-end matrix, in a file of its own so that the test workers share it out."""

from __future__ import annotations

import pytest

from handouts.build import Selection, plan, run
from handouts.content import Library
from handouts.errors import RenderError
from handouts.paths import content_dir

from .test_languages import LANGUAGES

STYLES = ("standard", "large-print", "summary", "trifold")
# Too long to fold into a tri-fold in some languages; refused with the usual message (README).
MAY_NOT_FOLD = {"fillers", "scar-types"}


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_leaflet_builds_in_every_style(tmp_path, lang):
    """Every leaflet in every style, as `build --all` makes them (the Neutral clinic, A4)."""
    library = Library(content_dir())
    treatments = library.treatments()
    made, refused = 0, []
    for style in STYLES:
        batch = [t for t in treatments if style != "trifold" or t not in MAY_NOT_FOLD]
        selection = Selection(batch, lang=lang, style=style, out_dir=tmp_path)
        for result in run(library, plan(library, selection)):
            assert result.pages >= 1 and result.job.path.is_file()
            made += 1
        for treatment in sorted(set(treatments) - set(batch)):
            selection = Selection([treatment], lang=lang, style=style, out_dir=tmp_path)
            try:
                run(library, plan(library, selection), workers=1)
                made += 1
            except RenderError as exc:
                assert "does not fit the trifold style" in str(exc), str(exc)
                refused.append(treatment)
    assert made + len(refused) == len(STYLES) * len(treatments)
    assert len(list(tmp_path.rglob("*.pdf"))) == made
