"""Styles and print formats, measured on the PDFs."""

from __future__ import annotations

import shutil

import pdfplumber
import pypdf
import pytest
from typer.testing import CliRunner

from handouts.build import Selection, plan, run
from handouts.cli import app
from handouts.content import Library
from handouts.errors import RenderError
from handouts.paths import clinics_dir, content_dir

from .conftest import TREATMENT, build_one, decode_qr, replace_in, stranded_headings

# The whole module is an end-to-end matrix: run by make test and CI, skipped by make quick.
pytestmark = pytest.mark.slow

runner = CliRunner()
LIBRARY = Library(content_dir())
TREATMENTS = LIBRARY.treatments()
A4_LANDSCAPE = (841.89, 595.28)
LETTER_LANDSCAPE = (792.0, 612.0)


# Leaflets whose text is longer than the six panels of a tri-fold hold (at the style's
# smallest type, 9 pt): handouts refuses to fold them, and says so.
TOO_LONG_TO_FOLD = {"fillers", "scar-types", "scar-revision-surgery"}


def build_all(out, style, clinic):
    """Each leaflet's Result, or for a leaflet that does not fit, the error message.

    The leaflets that fit are made in one batch (as `build --all` does); those that may
    be too long to fold are made one at a time, so that each one's refusal is kept."""
    built = {}
    batch = [t for t in TREATMENTS if style != "trifold" or t not in TOO_LONG_TO_FOLD]
    jobs = plan(LIBRARY, Selection(batch, style=style, clinic=clinic, out_dir=out))
    for result in run(LIBRARY, jobs):
        built[result.job.treatment] = result
    for treatment in (t for t in TREATMENTS if t not in batch):
        jobs = plan(LIBRARY, Selection([treatment], style=style, clinic=clinic, out_dir=out))
        try:
            [built[treatment]] = run(LIBRARY, jobs)
        except RenderError as exc:
            built[treatment] = str(exc)
    return built


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("styles")
    built = {
        (style, clinic): build_all(out, style, clinic)
        for style in ("large-print", "summary", "trifold")
        for clinic in ("riverside-dermatology", "harbour-skin-clinic")
        if not (style == "large-print" and clinic == "harbour-skin-clinic")
    }
    built["out"] = out
    return built


def sizes(path):
    """Sizes of all printed letters, except lettering inside the clinic's logo artwork
    (anything above the leaflet title on page 1)."""
    with pdfplumber.open(path) as pdf:
        first = pdf.pages[0].chars
        title_top = min(c["top"] for c in first if c["size"] >= max(x["size"] for x in first) - 1)
        return [
            c["size"]
            for page in pdf.pages
            for c in page.chars
            if c["text"].strip() and not (page.page_number == 1 and c["bottom"] <= title_top)
        ]


def test_standard_text_is_never_smaller_than_11pt(riverside_a4):
    assert min(sizes(riverside_a4.path)) >= 11 - 0.01


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_large_print_text_is_never_smaller_than_16pt(built, treatment):
    result = built[("large-print", "riverside-dermatology")][treatment]
    found = sizes(result.job.path)
    assert min(found) >= 16 - 0.01
    body = max(set(found), key=found.count)  # the most common size is the body text
    assert body >= 18 - 0.01
    with pdfplumber.open(result.job.path) as pdf:
        fonts = {c["fontname"] for page in pdf.pages for c in page.chars}
    assert not [f for f in fonts if "Italic" in f or "Oblique" in f]


@pytest.mark.parametrize("style", ["large-print", "standard"])
def test_no_heading_is_stranded_at_a_page_bottom(built, tmp_path_factory, style):
    results = (
        built[("large-print", "riverside-dermatology")]
        if style == "large-print"
        else (build_all(tmp_path_factory.mktemp("std"), "standard", "harbour-skin-clinic"))
    )
    margin = 34 if style == "large-print" else 21
    for treatment, result in results.items():
        handout = LIBRARY.handout(treatment, "en")
        names = {value for _, value in LIBRARY.labels("en").headings} | {
            s.heading for s in getattr(handout, "sections", [])
        }
        assert stranded_headings(result.job.path, names, margin) == [], treatment


def test_large_print_page_numbers_are_as_large_as_body_text(built):
    path = built[("large-print", "riverside-dermatology")][TREATMENT].job.path
    with pdfplumber.open(path) as pdf:
        words = pdf.pages[0].extract_words(extra_attrs=["size"])
    page_word = next(w for w in words if w["text"] == "Page")
    assert page_word["size"] >= 18 - 0.01


@pytest.mark.parametrize("clinic", ["riverside-dermatology", "harbour-skin-clinic"])
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_summary_is_exactly_one_page(built, clinic, treatment):
    result = built[("summary", clinic)][treatment]
    with pdfplumber.open(result.job.path) as pdf:
        assert len(pdf.pages) == 1
        text = pdf.pages[0].extract_text()
    # The two boxes stand side by side, so their lines interleave in the extracted text.
    assert "When to call us" in text and "emergency help" in text
    assert "Prepared for you" in text
    handout = LIBRARY.handout(treatment, "en")
    if handout.kind == "treatment":
        assert "Looking after your skin afterwards" in text
    else:
        steps = [s.heading for s in handout.sections if s.numbered]
        for heading in steps or ["The main points"]:
            assert heading in text


@pytest.mark.parametrize(
    ("clinic", "size"),
    [("riverside-dermatology", A4_LANDSCAPE), ("harbour-skin-clinic", LETTER_LANDSCAPE)],
)
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_trifold_is_two_landscape_pages_with_panels_in_fold_order(built, clinic, size, treatment):
    result = built[("trifold", clinic)][treatment]
    if isinstance(result, str):
        assert treatment in TOO_LONG_TO_FOLD, result
        assert f"The {treatment} (" in result and "does not fit the trifold style" in result
        assert not list((built["out"] / clinic).rglob(f"{treatment}-trifold-*.pdf"))
        return
    with pdfplumber.open(result.job.path) as pdf:
        assert len(pdf.pages) == 2
        for page in pdf.pages:
            assert (round(page.width, 1), round(page.height, 1)) == pytest.approx(size, abs=0.5)
        outside = pdf.pages[0]
        third = outside.width / 3

        def panel_of(heading):
            # The first words only: a heading may wrap in its narrow panel.
            [found, *_] = outside.search(" ".join(heading.split()[:4]), regex=False)
            return int(found["x0"] // third)

        headings = LIBRARY.labels("en").headings
        assert panel_of(headings.key_points) == 0  # the flap that folds in
        assert panel_of(headings.contact) == 0
        assert panel_of(headings.call_clinic) == 1  # the back: both safety boxes together
        assert panel_of(headings.emergency) == 1
        title_word = LIBRARY.handout(treatment, "en").title.split()[0]
        # The cover title: 24 pt, or at least 16 pt when the leaflet is tightened to fit.
        title_chars = [c for c in outside.chars if c["size"] > 15]
        assert title_chars and all(c["x0"] >= 2 * third - 1 for c in title_chars), title_word


def test_summary_that_does_not_fit_fails_naming_the_treatment(content_copy, tmp_path):
    path = content_copy / "treatments" / TREATMENT / "en.yaml"
    many = "".join(f"  - Step number {i} of a very long list of things to do.\n" for i in range(40))
    replace_in(path, "aftercare:\n", "aftercare:\n" + many)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", TREATMENT, "-s", "summary", "--content", str(content_copy), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert f"The {TREATMENT} (en-GB, summary, a4, clinic neutral) leaflet does not fit" in (
        result.stderr
    )
    assert "even with its text at 10 pt" in " ".join(result.stderr.split())
    assert not out.exists() or not list(out.rglob("*.pdf"))


@pytest.mark.parametrize(("paper", "size"), [("a4", (595.28, 841.89)), ("letter", (612, 792))])
def test_bleed_and_crop_marks_set_the_print_boxes(tmp_path, paper, size):
    result = runner.invoke(
        app,
        [
            "build",
            TREATMENT,
            "--paper",
            paper,
            "--bleed",
            "3mm",
            "--crop-marks",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "neutral" / "en-GB" / f"{TREATMENT}-standard-{paper}-print.pdf"
    page = pypdf.PdfReader(path).pages[0]
    trim, bleed = page.trimbox, page.bleedbox
    assert (float(trim.width), float(trim.height)) == pytest.approx(size, abs=0.5)
    bleed_pt = 3 / 25.4 * 72
    assert float(bleed.width) == pytest.approx(size[0] + 2 * bleed_pt, abs=0.5)
    assert float(bleed.height) == pytest.approx(size[1] + 2 * bleed_pt, abs=0.5)
    plain = runner.invoke(app, ["build", TREATMENT, "--paper", paper, "-o", str(tmp_path)])
    assert plain.exit_code == 0
    page = pypdf.PdfReader(
        tmp_path / "neutral" / "en-GB" / f"{TREATMENT}-standard-{paper}.pdf"
    ).pages[0]
    assert page.trimbox == page.mediabox


def test_bad_bleed_is_refused(tmp_path):
    for value in ("lots", "25mm"):
        result = runner.invoke(app, ["build", TREATMENT, "--bleed", value, "-o", str(tmp_path)])
        assert result.exit_code == 1 and "--bleed" in result.stderr


def test_bookmarks_follow_the_headings(riverside_a4):
    titles = [item.title for item in riverside_a4.reader.outline if not isinstance(item, list)]
    assert titles[0] == "Steroid injections for raised scars"
    flat = str(riverside_a4.reader.outline)
    for heading in ("The main points", "Side effects", "When to call us"):
        assert heading in flat


def test_qr_code_from_the_website(riverside_a4, tmp_path):
    texts = riverside_a4.page_texts()
    page = next(i for i, t in enumerate(texts) if "Scan with your phone camera" in t)
    assert decode_qr(riverside_a4.path, page, tmp_path) == "https://riverside.example/scars"


def test_qr_code_for_each_leaflet(tmp_path):
    clinic = tmp_path / "clinic"
    shutil.copytree(clinics_dir() / "riverside-dermatology", clinic)
    replace_in(
        clinic / "clinic.yaml",
        '  emergency_number: "999"',
        '  emergency_number: "999"\n  qr_url: https://riverside.example/{lang}/{treatment}',
    )
    built_pdf = build_one(tmp_path / "out", clinic=str(clinic))
    texts = built_pdf.page_texts()
    page = next(i for i, t in enumerate(texts) if "Scan with your phone camera" in t)
    url = f"https://riverside.example/en-GB/{TREATMENT}"
    assert decode_qr(built_pdf.path, page, tmp_path) == url
    assert url in texts[page]


PERSONAL = {
    "--patient-name": "Zoë Quigley-Marsh",
    "--clinician": "Dr Okonkwo",
    "--next-appointment": "Tuesday 3 March at 10:30",
}


def test_personal_details_appear_in_the_pdf_and_nowhere_else(tmp_path):
    args = ["build", TREATMENT, "-s", "summary", "-o", str(tmp_path), "--date", "2026-11-20"]
    for flag, value in PERSONAL.items():
        args += [flag, value]
    for extra in ([], ["--json"]):
        result = runner.invoke(app, args + extra)
        assert result.exit_code == 0, result.output
        for value in [*PERSONAL.values(), "2026-11-20"]:
            assert value not in result.stdout and value not in result.stderr
    files = [p for p in tmp_path.rglob("*")]
    # The leaflet, and the record of which clinic the folder's leaflets belong to.
    assert sorted(p.name for p in files if p.is_file()) == [
        ".handouts-clinic.json",
        f"{TREATMENT}-summary-a4.pdf",
    ]
    for path in files:
        for value in [*PERSONAL.values(), "2026-11-20"]:
            assert value not in str(path)
            if path.name == ".handouts-clinic.json":
                assert value not in path.read_text(encoding="utf-8")
    [pdf_path] = [p for p in files if p.suffix == ".pdf"]
    with pdfplumber.open(pdf_path) as pdf:
        text = " ".join(pdf.pages[0].extract_text().split())
    for value in PERSONAL.values():
        assert value in text
    assert "20 November 2026" in text
    metadata = str(pypdf.PdfReader(files[-1]).metadata)
    assert "Zoë" not in metadata


def test_personal_details_are_escaped_and_checked(tmp_path):
    result = runner.invoke(
        app, ["build", TREATMENT, "-o", str(tmp_path), "--patient-name", "<b>Ann</b> & co"]
    )
    assert result.exit_code == 0
    text = pypdf.PdfReader(next(tmp_path.rglob("*.pdf"))).pages[0].extract_text()
    assert "<b>Ann</b> & co" in text
    for value, message in [
        ("x" * 81, "at most 80 characters"),
        ("a\x07b", "control character"),
        ("two\nlines", "one line"),
    ]:
        bad = runner.invoke(
            app, ["build", TREATMENT, "-o", str(tmp_path / "bad"), "--patient-name", value]
        )
        assert bad.exit_code == 1
        assert "--patient-name" in bad.stderr and message in bad.stderr
        assert value not in bad.stderr
        assert not (tmp_path / "bad").exists()


def test_list_shows_the_styles():
    result = runner.invoke(app, ["list"])
    for style in ("standard", "large-print", "summary", "trifold"):
        assert style in result.stdout
