"""Every bundled leaflet builds, with every section it must have."""

from __future__ import annotations

import pdfplumber
import pytest

from handouts.build import Selection, plan, run
from handouts.content import Library
from handouts.models import GuideHandout
from handouts.paths import content_dir

# The whole module is an end-to-end matrix: run by make test and CI, skipped by make quick.
pytestmark = pytest.mark.slow

LIBRARY = Library(content_dir())
TREATMENTS = LIBRARY.treatments()
H = LIBRARY.labels("en").headings
ALWAYS = [H.key_points, H.call_clinic, H.emergency, H.questions, H.contact, H.references]
TREATMENT_ONLY = [
    H.helps,
    H.what_happens,
    H.sessions,
    H.recovery,
    H.side_effects,
    H.side_effects_common,
    H.side_effects_rare,
    H.aftercare,
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("all")
    jobs = plan(LIBRARY, Selection(TREATMENTS, clinic="riverside-dermatology", out_dir=out))
    results = run(LIBRARY, jobs)
    texts = {}
    for result in results:
        with pdfplumber.open(result.job.path) as pdf:
            texts[result.job.treatment] = (
                len(pdf.pages),
                "\n".join(p.extract_text() or "" for p in pdf.pages),
            )
    return texts


def test_the_library_has_fifteen_leaflets():
    assert len(TREATMENTS) == 15


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_leaflet_builds_with_its_sections(built, treatment):
    pages, text = built[treatment]
    handout = LIBRARY.handout(treatment, "en")
    assert 2 <= pages <= 6  # the standard style promises 2 to 6 pages
    flat = " ".join(text.split())
    assert " ".join(handout.title.split()) in flat
    assert f"Page {pages} of {pages}" in text
    expected = ALWAYS + (
        [s.heading for s in handout.sections]
        if isinstance(handout, GuideHandout)
        else TREATMENT_ONLY
        + [H.not_for] * bool(handout.not_for)
        + [H.tell_doctor] * bool(handout.tell_doctor)
    )
    if handout.related:
        expected.append(H.related)
    for heading in expected:
        assert heading in text, f"{treatment}: {heading}"
    assert "Call 999" in text or "call 999" in text


def test_the_filler_leaflet_has_the_emergency_signs(built):
    _, text = built["fillers"]
    flat = " ".join(text.split())
    assert "Call us straight away, day or night, if:" in flat
    assert "If you cannot reach us at once, call 999 or go to A&E." in flat
    assert "Call 999 at once if:" in flat
    for sign in ("white, grey, blue or blotchy", "eyesight changes", "stroke"):
        assert sign in flat


def test_the_ultrasound_leaflet_says_it_is_less_proven(built):
    _, text = built["ultrasound-therapy"]
    assert "less proven" in " ".join(text.split()).lower()


def test_no_leaflet_calls_steroids_chemotherapy_or_promises_removal(built):
    for treatment, (_, text) in built.items():
        flat = " ".join(text.split()).lower()
        assert "chemotherapy" not in flat, treatment
        for phrase in ("remove the scar", "eliminate", "unsightly", "get rid of"):
            assert phrase not in flat, (treatment, phrase)
