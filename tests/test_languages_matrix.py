"""Every leaflet in every style in each of the six translated languages (issue 10): the
slow end-to-end matrix, in a file of its own so that the test workers share it out."""

from __future__ import annotations

import pytest

from handouts.build import Selection, plan, plan_each, run
from handouts.content import Library
from handouts.errors import RenderError
from handouts.paths import content_dir

from .test_languages import LANGUAGES

STYLES = ("standard", "large-print", "summary", "trifold")
# Too long to fold into a tri-fold in some languages; refused with the usual message (README).
MAY_NOT_FOLD = {"fillers", "scar-types"}


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES)
def test_every_leaflet_builds_in_every_language(tmp_path, style):
    """Every leaflet in every language in one style, as `build --all` makes them (the
    Neutral clinic, A4): one batch for the six languages, then one at a time the leaflets
    a tri-fold may refuse."""
    library = Library(content_dir())
    treatments = library.treatments()
    batch = [t for t in treatments if style != "trifold" or t not in MAY_NOT_FOLD]
    selections = [Selection(batch, lang=lang, style=style, out_dir=tmp_path) for lang in LANGUAGES]
    made = run(library, plan_each(library, selections))
    assert {(r.job.lang, r.job.treatment) for r in made} == {
        (lang, t) for lang in LANGUAGES for t in batch
    }
    assert all(r.pages >= 1 and r.job.path.is_file() for r in made)
    refused = []
    for lang in LANGUAGES:
        for treatment in sorted(set(treatments) - set(batch)):
            selection = Selection([treatment], lang=lang, style=style, out_dir=tmp_path)
            try:
                run(library, plan(library, selection), workers=1)
            except RenderError as exc:
                assert "does not fit the trifold style" in str(exc), str(exc)
                refused.append((lang, treatment))
    # As the README says: fillers folds in no language; scar-types not in the longer ones.
    assert {t for _, t in refused} <= MAY_NOT_FOLD
    expected = len(LANGUAGES) * len(treatments) - len(refused)
    assert len(list(tmp_path.rglob("*.pdf"))) == expected
