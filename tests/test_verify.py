"""Issue 9, items 1 and 2: a leaflet that looks fine to handouts must be right on paper.

Every build checks its laid-out pages (handouts/verify.py): long text wraps inside its
box, and when it cannot, the build stops naming the field; the safety-critical parts
are printed and readable whatever a clinic's CSS or templates do. Each case here is a
real build through the command line, and what it wrote (or did not) is read back with
pdfplumber.
"""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from handouts.cli import app
from handouts.styles import style_info
from handouts.verify import _pages, contrast

from .conftest import TREATMENT, replace_in

runner = CliRunner()
MM = 72 / 25.4  # PDF points per millimetre
LONG_CLINIC = "Royal Northgate Hospitals NHS Foundation Trust Dermatology Department"
LONG_WORD = "A" * 80  # the longest --patient-name allowed, as one unbroken word
EMERGENCY = "When to call for emergency help"
CALL_US = "When to call us"


def build(out: Path, *args) -> tuple[int, str]:
    """Exit code and everything printed, on one line (a terminal may wrap long lines)."""
    result = runner.invoke(app, ["build", TREATMENT, "-o", str(out), *map(str, args)])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, " ".join(result.output.split())


def with_css(clinic: Path, css: str) -> Path:
    """Give the clinic copy a stylesheet of its own."""
    (clinic / "assets" / "clinic.css").write_text(css, encoding="utf-8")
    with (clinic / "clinic.yaml").open("a", encoding="utf-8") as brand:
        brand.write("extra_css:\n  - assets/clinic.css\n")
    return clinic / "assets" / "clinic.css"


def rename(clinic: Path, name: str) -> None:
    replace_in(clinic / "clinic.yaml", "name: Riverside Hospital", f"name: {name}")


def written(out: Path) -> list[Path]:
    """PDFs (or their temporary parts) anywhere under the output folder."""
    return [p for p in out.rglob("*") if p.is_file() and (".pdf" in p.name or ".part" in p.name)]


def only_pdf(out: Path) -> Path:
    [path] = [p for p in out.rglob("*.pdf")]
    return path


def assert_on_the_page(page) -> None:
    for c in page.chars:
        assert c["x0"] >= -0.5 and c["x1"] <= page.width + 0.5, c["text"]
        assert c["top"] >= -0.5 and c["bottom"] <= page.height + 0.5, c["text"]


# --------------------------------------------------------------------------- item 1


def test_long_clinic_and_patient_names_wrap_inside_their_boxes(clinic_copy, tmp_path):
    rename(clinic_copy, LONG_CLINIC)
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy, "--patient-name", LONG_WORD)
    assert code == 0, output
    with pdfplumber.open(only_pdf(out)) as pdf:
        page = pdf.pages[0]  # the footer is the same on every page
        assert_on_the_page(page)
        words = page.extract_words()
        # The footer: the clinic's name and phone number wrap left of "Page 1 of 4".
        footer = [w for w in words if w["top"] > page.height - 21 * MM - 1]
        number = [w for w in footer if w["text"] == "Page"][-1]
        left = [w for w in footer if w["x0"] < number["x0"] - 0.5]
        assert " ".join(w["text"] for w in left).startswith(LONG_CLINIC)
        assert "01632 960 123" in " ".join(w["text"] for w in left)
        assert all(w["x1"] <= number["x0"] for w in left)
        assert [w["text"] for w in footer if w["x0"] >= number["x0"] - 0.5] == [
            "Page",
            "1",
            "of",
            "4",
        ]
        # The patient's name: every letter printed, all of it left of "Date of treatment".
        label = next(w for w in words if w["text"] == "Date")
        clinician = next(w for w in words if w["text"] == "clinician")
        letters = [
            c
            for c in page.chars
            if c["text"] == "A" and label["top"] - 1 <= c["top"] < clinician["top"] - 1
        ]
        assert len(letters) == 80
        assert max(c["x1"] for c in letters) <= label["x0"]
        box = page.within_bbox((0, label["top"] - 1, label["x0"], clinician["top"] - 1))
        assert LONG_WORD in "".join(box.extract_text().split())


def test_text_that_cannot_wrap_fails_naming_the_field(clinic_copy, tmp_path):
    """The first two findings of item 1, with clinic CSS that stops long words wrapping:
    the build stops, names each field, and writes nothing."""
    rename(clinic_copy, LONG_CLINIC)
    css = with_css(
        clinic_copy,
        "html { overflow-wrap: normal; }\n"
        ".prepared-for dd { white-space: nowrap; }\n"
        "@page { @bottom-left { white-space: pre; overflow-wrap: normal; } }\n",
    )
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy, "--patient-name", LONG_WORD)
    assert code == 1
    assert "would not print as laid out" in output
    assert "the clinic name (meta.name in " in output
    assert "in the footer overlaps the page number (pages 1 to 4)" in output
    assert "the patient's name (--patient-name) runs off the edge of the page (page 1)" in output
    assert "Shorten --patient-name (it has 80 characters" in output
    assert f"Shorten meta.name in {clinic_copy / 'clinic.yaml'}" in output
    assert str(css) in output
    assert written(out) == []


def test_a_footer_too_tall_for_its_margin_fails(clinic_copy, tmp_path):
    """Even wrapped, a very long clinic name needs more lines than the footer has."""
    rename(clinic_copy, " ".join([LONG_CLINIC] * 4))
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy, "-s", "summary")  # the same footer, 1 page
    assert code == 1
    assert "the footer, with the clinic name (meta.name in " in output
    assert "has too many lines for the bottom margin and runs off the page (page 1)" in output
    assert written(out) == []


def panels(page) -> list[tuple[float, float]]:
    """The three panels of a tri-fold page (margins 8 mm, gaps 16 mm; trifold.css)."""
    width = (page.width - 2 * 8 * MM - 2 * 16 * MM) / 3
    return [
        (8 * MM + i * (width + 16 * MM), 8 * MM + i * (width + 16 * MM) + width) for i in range(3)
    ]


def test_long_names_stay_inside_their_trifold_panel(tmp_path):
    out = tmp_path / "out"
    patient = "Bartholomewfeatherstonehaughcholmondeley"  # one word, wider than the panel
    clinician = "Dr Max Featherstonehaugh-Cholmondeley"
    code, output = build(
        out, "-s", "trifold", "-c", "riverside-dermatology", "--patient-name", patient,
        "--clinician", clinician,
    )  # fmt: skip
    assert code == 0, output
    with pdfplumber.open(only_pdf(out)) as pdf:
        for page in pdf.pages:
            bounds = panels(page)
            for c in page.chars:
                assert any(x0 - 1 <= c["x0"] and c["x1"] <= x1 + 1 for x0, x1 in bounds), c
        first = pdf.pages[0]
        cover = first.within_bbox((panels(first)[2][0] - 1, 0, first.width, first.height))
        front = "".join(cover.extract_text().split())
        assert patient in front and "".join(clinician.split()) in front


def test_trifold_text_that_cannot_wrap_fails_naming_the_panel(clinic_copy, tmp_path):
    rename(clinic_copy, "Royal Northgate Hospitals NHS Foundation Trust")
    with_css(clinic_copy, ".prepared-for dd, .contact dd { white-space: nowrap; }\n")
    out = tmp_path / "out"
    code, output = build(
        out, "-s", "trifold", "-c", clinic_copy, "--clinician", "Dr Maximiliana Featherstonehaugh"
    )
    assert code == 1
    assert "the clinic name (meta.name in " in output
    assert "runs into the next panel of the tri-fold (page 1)" in output
    assert "the clinician's name (--clinician) runs off the edge of the page (page 1)" in output
    assert written(out) == []


# --------------------------------------------------------------------------- item 2


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (
            ".emergency { display: none; }",
            f"the emergency heading ('{EMERGENCY}', labels.headings.emergency) is not printed "
            "anywhere on the leaflet",
        ),
        (
            ".emergency { visibility: hidden; }",
            f"the emergency heading ('{EMERGENCY}', labels.headings.emergency) cannot be read "
            "on page 1: it is hidden (visibility: hidden)",
        ),
        (
            ".emergency { font-size: 4pt; }",
            "the emergency number ('999', contact.emergency_number) cannot be read on page 1: "
            "it is printed at 4 pt, smaller than the 10 pt the summary style needs",
        ),
        (
            ".emergency { color: #eeeeee; }",
            "the emergency number ('999', contact.emergency_number) cannot be read on page 1: "
            "it is too faint: its contrast with the background is 1.16:1, and at least 4.5:1 "
            "is needed",
        ),
    ],
    ids=["display-none", "visibility-hidden", "4pt", "grey"],
)
def test_clinic_css_cannot_hide_the_emergency_box(clinic_copy, tmp_path, css, expected):
    sheet = with_css(clinic_copy, css)
    out = tmp_path / "out"
    # The full leaflet once; the one-page card (the same boxes, quicker) for the rest.
    style = "standard" if "display" in css else "summary"
    code, output = build(out, "-c", clinic_copy, "-s", style)
    assert code == 1
    assert "is missing a safety-critical part, or prints it so that it cannot be read" in output
    assert expected in output
    assert f"Check the clinic's CSS ({sheet})" in output
    assert written(out) == []


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (".call-clinic { opacity: 0; }", "it is transparent (opacity: 0)"),
        (".emergency h2 { transform: scale(0.3); }", "moved or resized with a CSS transform"),
        (
            ".emergency h2::after { content: ''; position: absolute; left: 0; right: 0; "
            "top: 0; bottom: 0; background: white; }",
            "covered by another box",
        ),
        (".emergency h2 { color: #ffffff; background: #fafafa; }", "too faint"),
    ],
    ids=["opacity", "transform", "covered", "white-on-white"],
)
def test_other_ways_to_hide_a_safety_part_fail_too(clinic_copy, tmp_path, css, expected):
    with_css(clinic_copy, css)
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy, "-s", "summary")
    assert code == 1
    assert expected in output
    assert written(out) == []


def test_a_template_that_does_not_extend_the_built_in_one_fails(clinic_copy, tmp_path):
    template = clinic_copy / "templates" / "handout.html"
    template.parent.mkdir(exist_ok=True)
    template.write_text(
        '<!DOCTYPE html>\n<html lang="{{ lang }}">\n<head><meta charset="utf-8">'
        "<title>{{ handout.title }}</title></head>\n<body>\n<h1>{{ handout.title }}</h1>\n"
        "<p>{{ handout.purpose }}</p>\n</body>\n</html>\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy)
    assert code == 1
    for missing in (
        f"the 'when to call us' heading ('{CALL_US}', labels.headings.call_clinic)",
        f"the emergency heading ('{EMERGENCY}', labels.headings.emergency)",
        "the emergency number ('999', contact.emergency_number)",
        "the clinic's phone number ('01632 960 123', contact.phone)",
    ):
        assert f"{missing} is not printed anywhere on the leaflet" in output
    assert f"Check the clinic's templates ({template}" in output
    assert written(out) == []


def test_clinic_css_may_restyle_the_safety_parts(clinic_copy, tmp_path):
    with_css(
        clinic_copy,
        ".emergency { background: #b00020; color: #ffffff; border-color: #000000; }\n"
        ".emergency h2, .emergency .lead { color: #ffffff; text-transform: uppercase; }\n"
        ".call-clinic h2 { font-size: 10pt; }\n",
    )
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic_copy, "-s", "summary")
    assert code == 0, output
    with pdfplumber.open(only_pdf(out)) as pdf:
        text = "\n".join(page.extract_text() for page in pdf.pages)
    assert EMERGENCY.upper() in text and CALL_US in text


@pytest.mark.parametrize(
    ("clinic", "style", "number", "phone"),
    [
        ("neutral", "standard", "emergency services", None),
        ("riverside-dermatology", "trifold", "999", "01632 960 123"),
        ("harbour-skin-clinic", "summary", "911", "(206) 555-0142"),
    ],
)
def test_bundled_clinics_print_every_safety_part_readably(tmp_path, clinic, style, number, phone):
    """The same promise, read back from the PDF itself: each part is in the extracted text,
    no smaller than the style's minimum, and dark enough on the white page."""
    out = tmp_path / "out"
    code, output = build(out, "-c", clinic, "-s", style)
    assert code == 0, output
    smallest = style_info(style).min_text_pt
    with pdfplumber.open(only_pdf(out)) as pdf:
        lines = [line for page in pdf.pages for line in page.extract_text_lines()]
    text = " ".join(line["text"] for line in lines)
    for wanted in (CALL_US, EMERGENCY, number, phone):
        if wanted is None:
            continue
        assert wanted in text, wanted
    for heading in (CALL_US, EMERGENCY):
        [line] = [line for line in lines if line["text"] == heading]
        for c in line["chars"]:
            assert c["size"] >= smallest - 0.01
            colour = c["non_stroking_color"]
            rgb = colour * 3 if len(colour) == 1 else colour
            assert contrast(rgb, (1, 1, 1)) >= 4.5


# --------------------------------------------------------------------------- the parts


def test_contrast_follows_wcag():
    assert contrast((0, 0, 0), (1, 1, 1)) == pytest.approx(21)
    grey_777 = (0x77 / 255,) * 3  # the lightest grey usually said to pass on white
    assert contrast(grey_777, (1, 1, 1)) == pytest.approx(4.48, abs=0.01)
    assert contrast((1, 1, 1), (1, 1, 1)) == pytest.approx(1)


def test_pages_are_listed_plainly():
    assert _pages([1]) == "page 1"
    assert _pages([3, 1, 2, 4]) == "pages 1 to 4"
    assert _pages([1, 3]) == "pages 1, 3"
