"""Leaflets in six more languages (issue 10): Spanish, French, Portuguese, Simplified
Chinese, Arabic (right to left) and Vietnamese. Checked on the built PDFs: the language
recorded, the script printed, Arabic mirrored, Latin runs kept in order, the review line;
and on `check` and `translate`: missing and stale translations, changed numbers, letters no
font has, labels left in English, and a lossless PO round trip."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from handouts.build import Selection, plan, run, stylesheets_of
from handouts.cli import app
from handouts.content import Library
from handouts.paths import clinics_dir, content_dir
from handouts.pdf import Renderer
from handouts.templating import build_context, make_env, render_html, template_roots

from .conftest import TREATMENT, replace_in

LIBRARY = Library(content_dir())
LANGUAGES = ["es", "fr", "pt", "zh-Hans", "ar", "vi"]
runner = CliRunner()

# Words each language's leaflet must print (its own heading for "When to call us", and the
# letters of its script).
SCRIPT = {
    "es": re.compile(r"[áéíóúñ¿]"),
    "fr": re.compile(r"[éèàçê]"),
    "pt": re.compile(r"[ãõçáé]"),
    "zh-Hans": re.compile(r"[\u4e00-\u9fff]"),
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "vi": re.compile(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]"),
}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def build(
    out: Path,
    treatment=TREATMENT,
    lang="es",
    style="standard",
    clinic=None,
    paper=None,
    content=None,
):
    library = Library(content or content_dir())
    jobs = plan(
        library,
        Selection([treatment], lang=lang, style=style, clinic=clinic, paper=paper, out_dir=out),
    )
    [result] = run(library, jobs)
    return result.job.path


def text_of(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@pytest.fixture(scope="session")
def leaflets(tmp_path_factory) -> dict[str, Path]:
    """The steroid-injections leaflet in every language, for the Riverside clinic."""
    out = tmp_path_factory.mktemp("languages")
    library = Library(content_dir())
    jobs = [
        job
        for lang in LANGUAGES
        for job in plan(
            library,
            Selection([TREATMENT], lang=lang, clinic="riverside-dermatology", out_dir=out),
        )
    ]
    return {r.job.lang: r.job.path for r in run(library, jobs)}


# ------------------------------------------------------------------ what exists


def test_list_shows_seven_languages():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Languages:"))
    for name in (
        "English",
        "Español",
        "Français",
        "Português",
        "简体中文",
        "العربية",
        "Tiếng Việt",
    ):
        assert name in line
    assert len(re.findall(r"\(", line)) == 7


def test_every_leaflet_has_every_language():
    for treatment in LIBRARY.treatments():
        assert set(LIBRARY.languages_of(treatment)) == {"en", *LANGUAGES}, treatment


# ------------------------------------------------------------------ the built PDFs


@pytest.mark.parametrize("lang", LANGUAGES)
def test_leaflet_records_its_language_and_prints_its_script(leaflets, lang):
    import pypdf

    path = leaflets[lang]
    assert str(pypdf.PdfReader(path).trailer["/Root"]["/Lang"]) == lang
    text = text_of(path)
    assert len(SCRIPT[lang].findall(text)) > 50
    labels = LIBRARY.labels(lang)
    squashed = re.sub(r"\s+", "", text)
    for label in (labels.headings.call_clinic, labels.prepared_for):
        if lang != "ar":  # Arabic comes out of pdfplumber in visual order
            assert re.sub(r"\s+", "", label) in squashed, label
    # The English headings are gone, and the leaflet is a draft translation.
    assert "When to call us" not in text and "Prepared for you" not in text


@pytest.mark.parametrize("lang", ["es", "zh-Hans", "vi"])
def test_the_review_line_says_no_clinician_has_checked_the_translation(leaflets, lang):
    notice = re.sub(r"\s+", "", LIBRARY.labels(lang).translation_notice)
    assert notice in re.sub(r"\s+", "", text_of(leaflets[lang]))


def test_the_review_line_goes_once_the_translation_is_reviewed(full_content_copy, tmp_path):
    es = full_content_copy / "treatments" / TREATMENT / "es.yaml"
    reviewed = "clinically_reviewed: true\n  reviewed_by: Dra. Ana Ruiz"
    replace_in(es, "clinically_reviewed: false", reviewed)
    notice = re.sub(r"\s+", "", LIBRARY.labels("es").translation_notice)
    # The labels (which say when to call, and whom) must be reviewed too.
    path = build(tmp_path / "half", content=full_content_copy)
    assert notice in re.sub(r"\s+", "", text_of(path))
    replace_in(full_content_copy / "ui" / "es.yaml", "clinically_reviewed: false", reviewed)
    path = build(tmp_path / "out", content=full_content_copy)
    assert notice not in re.sub(r"\s+", "", text_of(path))
    # ...and a reviewed translation must say who reviewed it.
    replace_in(es, "  reviewed_by: Dra. Ana Ruiz", "")
    result = invoke("check", "--content", full_content_copy, "--quick")
    assert result.exit_code == 1
    assert "reviewed_by" in result.output and "es.yaml" in result.output


@pytest.mark.parametrize(
    ("lang", "written"),
    [("es", "1 de diciembre de 2026"), ("vi", "1 tháng 12, 2026"), ("zh-Hans", "2026年12月1日")],
)
def test_dates_are_written_the_languages_way(tmp_path, lang, written):
    result = invoke(
        "build", TREATMENT, "-l", lang, "-s", "summary", "--date", "2026-12-01", "-o", tmp_path
    )
    assert result.exit_code == 0, result.output
    [path] = tmp_path.rglob("*.pdf")
    assert written.replace(" ", "") in re.sub(r"\s+", "", text_of(path))


def test_a_us_clinic_prints_its_regional_wording_in_spanish(tmp_path):
    us = text_of(build(tmp_path / "us", "silicone-gel", clinic="harbour-skin-clinic"))
    gb = text_of(build(tmp_path / "gb", "silicone-gel", clinic="riverside-dermatology"))
    assert "Cordran" in us and "Haelan" not in us
    assert "Haelan" in gb and "Cordran" not in gb
    # The clinic's own department, as it gave it in Spanish.
    assert "Cuidado de cicatrices y láser" in us
    # Temperatures get Fahrenheit for a US clinic, written with a decimal comma.
    fever = text_of(build(tmp_path / "f", "laser", clinic="harbour-skin-clinic"))
    assert "38 °C (100,4 °F)" in fever


def test_asking_for_a_language_a_leaflet_lacks_names_what_exists(full_content_copy, tmp_path):
    (full_content_copy / "treatments" / TREATMENT / "vi.yaml").unlink()
    result = invoke(
        "build", TREATMENT, "--lang", "vi", "--content", full_content_copy, "-o", tmp_path
    )
    assert result.exit_code != 0
    assert "There is no 'vi' version of steroid-injections" in result.output
    assert "ar, en, es, fr, pt, zh-Hans" in result.output
    assert not list(tmp_path.rglob("*.pdf"))


def test_language_tags_are_read_in_any_case(tmp_path):
    result = invoke("build", TREATMENT, "--lang", "ZH-hans", "-s", "summary", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "neutral" / "zh-Hans" / f"{TREATMENT}-summary-a4.pdf").is_file()


def test_chinese_lines_never_start_with_closing_punctuation(leaflets):
    """Chinese breaks between characters; a comma or full stop must not start a line."""
    lines = [line.strip() for line in text_of(leaflets["zh-Hans"]).splitlines() if line.strip()]
    assert len(lines) > 60
    # Full-width comma, full stop, enumeration comma, semicolon, colon, question and
    # exclamation marks, closing bracket and quotes.
    closing = tuple(
        chr(c)
        for c in (
            0xFF0C,
            0x3002,
            0x3001,
            0xFF1B,
            0xFF1A,
            0xFF1F,
            0xFF01,
            0xFF09,
            0x300B,
            0x300D,
            0x300F,
            0x201D,
        )
    )
    assert [line for line in lines if line.startswith(closing)] == []
    # ...and no word is hyphenated: there is no dictionary for Chinese.
    assert not any(line.endswith("-") for line in lines)


# ------------------------------------------------------------------ Arabic, right to left


def laid_out(lang: str, style: str, treatment: str = "5fu-injections"):
    """The laid-out boxes of a leaflet (WeasyPrint's document), for positions."""
    [job] = plan(
        LIBRARY,
        Selection(
            [treatment],
            lang=lang,
            style=style,
            clinic="riverside-dermatology",
            out_dir=Path("/nonexistent"),
        ),
    )
    locale = LIBRARY.resolve_locale(job.lang, job.clinic.brand.defaults.language)
    html = render_html(
        make_env(job.clinic),
        build_context(LIBRARY, job.treatment, locale, job.clinic, job.page, job.personal),
    )
    with Renderer() as renderer:
        pdf = renderer.render(
            html,
            base_url=job.clinic.folder,
            roots=template_roots(job.clinic),
            stylesheets=stylesheets_of(job),
        )
    return html, pdf


def boxes(page, cls: str):
    found = []

    def walk(box):
        element = getattr(box, "element", None)
        if element is not None and cls in (element.get("class") or "").split():
            found.append(box)
        for child in getattr(box, "children", ()):
            walk(child)

    walk(page._page_box)
    return found


@pytest.fixture(scope="module")
def arabic_and_english():
    return {lang: laid_out(lang, "standard") for lang in ("ar", "en")}


def test_arabic_is_right_to_left_and_mirrored(arabic_and_english):
    html, pdf = arabic_and_english["ar"]
    assert '<html lang="ar" dir="rtl">' in html
    page = pdf.document.pages[0]
    width = page.width
    for lang, (_, laid) in arabic_and_english.items():
        first = laid.document.pages[0]
        [logo] = boxes(first, "logo")
        [key] = boxes(first, "key-points")
        step_markers = [
            (li, child)
            for section in boxes(laid.document.pages[1], "steps")
            for li in section.children
            for child in getattr(li, "children", ())
            if getattr(child, "element_tag", "") == "li::before"
        ]
        if lang == "ar":
            assert logo.position_x > width / 2  # the logo is at the start: the right
            assert key.border_right_width > 0 and key.border_left_width == 0
            assert key.padding_right > key.padding_left  # text clear of the border
        else:
            assert logo.position_x < width / 2
            assert key.border_left_width > 0 and key.border_right_width == 0
        for li, marker in step_markers:
            if lang == "ar":
                assert marker.position_x >= li.position_x + li.width - 1  # number on the right
            else:
                assert marker.position_x + marker.width <= li.position_x + 1


def test_arabic_trifold_panels_run_right_to_left(tmp_path):
    _, pdf = laid_out("ar", "trifold", "silicone-gel")
    third = pdf.page_sizes[0][0] / 3
    [outside, inside] = pdf.anchors
    assert outside["panel-front"][0] < third  # the cover is on the left
    assert outside["panel-flap"][0] > 2 * third
    assert inside["panel-inside"][0] > 2 * third


def test_latin_runs_in_arabic_keep_their_order(tmp_path):
    path = build(tmp_path, "5fu-injections", lang="ar", clinic="riverside-dermatology")
    with pdfplumber.open(path) as pdf:
        chars = pdf.pages[0].chars

    def near(ch, text, left, right):
        """Characters `text` on ch's line between `left` and `right` points from it."""
        return [
            c
            for c in chars
            if c["text"] == text
            and abs(c["bottom"] - ch["bottom"]) < 15  # digits come from the Arabic font
            and left <= c["x0"] - ch["x0"] <= right
        ]

    found = 0
    for f in (c for c in chars if c["text"] == "F"):
        if not near(f, "U", 1, 20):
            continue
        # "5-FU" reads left to right inside the Arabic line: 5, -, F, U; never "FU-5".
        assert near(f, "5", -40, -1) and near(f, "-", -25, -1), f
        assert not near(f, "5", 1, 60)
        found += 1
    assert found >= 3


# ------------------------------------------------------------------ check


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A content folder and a clinic with one mistake of each kind (each in its own leaflet),
    checked once, and once with --strict."""
    root = tmp_path_factory.mktemp("broken")
    content, clinic = root / "content", root / "clinic"
    shutil.copytree(content_dir(), content)
    shutil.copytree(clinics_dir() / "riverside-dermatology", clinic)
    where = {}
    # The English changed after translation: its six translations are out of date.
    replace_in(
        content / "treatments" / "cryotherapy" / "en.yaml",
        "title: Cryotherapy (freezing)",
        "title: Cryotherapy (freezing the scar)",
    )
    # A dose changed in a translation.
    where["dose"] = replace_in(
        content / "treatments" / "silicone-gel" / "es.yaml", "12 horas", "21 horas"
    )
    # A Thai letter, as in a name typed into a Vietnamese leaflet: no font named has it.
    replace_in(content / "treatments" / TREATMENT / "vi.yaml", "title: ", "title: \u0e01 ")
    # A translation missing, and a label left in English.
    (content / "treatments" / "laser" / "pt.yaml").unlink()
    replace_in(content / "ui" / "fr.yaml", "prepared_for: ", "prepared_for: Prepared for you #")
    # A translation with a point fewer than its English.
    fr = content / "treatments" / "subcision" / "fr.yaml"
    text = fr.read_text(encoding="utf-8")
    start = text.index("key_points:\n") + len("key_points:\n")
    fr.write_text(text[:start] + text[text.index("\n", start) + 1 :], encoding="utf-8")
    # The clinic gives no Vietnamese department or disclaimer.
    replace_in(clinic / "clinic.yaml", "  vi:\n", "  xx-unused:\n")
    args = ("check", "--content", content, "--quick", "-c", clinic)
    return invoke(*args), invoke(*args, "--strict"), where


def lines_with(result, text: str) -> list[str]:
    return [line for line in result.output.splitlines() if text in line]


def test_a_stale_translation_is_reported(broken):
    relaxed, strict, _ = broken
    stale = lines_with(relaxed, "out of date")
    assert len(stale) == 6 and all("cryotherapy/" in line for line in stale)
    assert all(line.startswith("Warning:") for line in stale)
    assert "set source_hash:" in stale[0]
    assert all(line.startswith("Error:") for line in lines_with(strict, "out of date"))


def test_a_changed_dose_is_reported(broken):
    relaxed, _, where = broken
    assert relaxed.exit_code == 1
    [dose] = lines_with(relaxed, "numbers differ")
    assert f"silicone-gel/es.yaml:{where['dose']}:" in dose
    assert "English 2, 3, 3, 12, translation 2, 3, 3, 21" in dose


def test_a_character_no_font_has_fails_check(broken):
    relaxed, _, _ = broken
    [line] = lines_with(relaxed, "U+0E01 THAI CHARACTER KO KAI")
    assert line.startswith("Error:") and f"{TREATMENT}/vi.yaml:" in line
    assert "Noto Sans CJK SC" in line  # names the fonts looked in


def test_a_missing_translation_and_english_labels_are_reported(broken):
    relaxed, _, _ = broken
    assert lines_with(relaxed, "no Português translation of laser")
    [label] = lines_with(relaxed, "prepared_for: is still in English")
    assert "ui/fr.yaml" in label


def test_clinic_texts_missing_in_a_language_are_reported(broken):
    relaxed, _, _ = broken
    [line] = lines_with(relaxed, "translations.vi")
    assert "department and disclaimer" in line and "clinic.yaml" in line


def test_a_translation_out_of_shape_names_the_line(broken):
    relaxed, _, _ = broken
    [line] = lines_with(relaxed, "the English has")
    assert line.startswith("Error:") and "subcision/fr.yaml" in line and "key_points" in line


def test_reading_ease_per_language(broken):
    relaxed, _, _ = broken
    assert re.search(r"es\s+15\s+\d+\.\d Fernández Huerta", relaxed.output), relaxed.output
    assert re.search(r"zh-Hans\s+15\s+no formula", relaxed.output)


# ------------------------------------------------------------------ PO files


def test_po_round_trip_changes_nothing(full_content_copy, tmp_path):
    po = tmp_path / "fr.po"
    result = invoke("translate", "export", "fr", "-o", po, "--content", full_content_copy)
    assert result.exit_code == 0, result.output
    text = po.read_text(encoding="utf-8")
    assert 'msgctxt "steroid-injections:key_points.0"' in text
    assert 'msgctxt "ui:headings.call_clinic"' in text
    before = {p: p.read_bytes() for p in full_content_copy.rglob("*.yaml")}
    result = invoke("translate", "import", po, "--content", full_content_copy)
    assert result.exit_code == 0, result.output
    assert "Nothing changed" in result.output
    assert {p: p.read_bytes() for p in full_content_copy.rglob("*.yaml")} == before


def test_po_import_changes_only_the_string_translated(full_content_copy, tmp_path):
    po = tmp_path / "es.po"
    invoke("translate", "export", "es", "-t", TREATMENT, "-o", po, "--content", full_content_copy)
    es = full_content_copy / "treatments" / TREATMENT / "es.yaml"
    old = es.read_text(encoding="utf-8").splitlines()
    title = LIBRARY.handout(TREATMENT, "es").title
    po.write_text(
        po.read_text(encoding="utf-8").replace(f'msgstr "{title}"', 'msgstr "Nuevo título"')
    )
    result = invoke("translate", "import", po, "--content", full_content_copy)
    assert result.exit_code == 0, result.output
    new = es.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [(f"title: {title}", "title: Nuevo título")]


def test_po_import_with_a_wrong_entry_writes_nothing(full_content_copy, tmp_path):
    po = tmp_path / "es.po"
    invoke("translate", "export", "es", "-t", TREATMENT, "-o", po, "--content", full_content_copy)
    before = {p: p.read_bytes() for p in full_content_copy.rglob("*.yaml")}
    text = po.read_text(encoding="utf-8").replace(
        'msgctxt "steroid-injections:key_points.0"', 'msgctxt "steroid-injections:key_points.99"'
    )
    po.write_text(text.replace('msgstr "Inyecciones', 'msgstr "Cambiado', 1), encoding="utf-8")
    result = invoke("translate", "import", po, "--content", full_content_copy)
    assert result.exit_code == 1
    assert "has no text at 'key_points.99'" in result.output and "es.po:" in result.output
    assert {p: p.read_bytes() for p in full_content_copy.rglob("*.yaml")} == before


def test_po_export_marks_a_stale_translation_fuzzy_and_import_brings_it_up_to_date(
    full_content_copy, tmp_path
):
    en = full_content_copy / "treatments" / TREATMENT / "en.yaml"
    replace_in(en, "title: Steroid injections for raised scars", "title: Steroid injections")
    po = tmp_path / "es.po"
    invoke("translate", "export", "es", "-t", TREATMENT, "-o", po, "--content", full_content_copy)
    text = po.read_text(encoding="utf-8")
    assert "#, fuzzy" in text
    # The translator checks every entry (no longer fuzzy) and imports: the leaflet is current.
    po.write_text(text.replace("#, fuzzy\n", ""), encoding="utf-8")
    assert invoke("translate", "import", po, "--content", full_content_copy).exit_code == 0
    result = invoke("check", "--content", full_content_copy, "--quick")
    assert f"{TREATMENT}/es.yaml" not in "\n".join(
        line for line in result.output.splitlines() if "out of date" in line
    )


def test_po_export_never_overwrites_a_file(tmp_path):
    po = tmp_path / "es.po"
    po.write_text("a translator's work\n")
    result = invoke("translate", "export", "es", "-o", po)
    assert result.exit_code == 1 and "already exists" in result.output
    assert po.read_text() == "a translator's work\n"


def test_po_import_starts_a_new_language(full_content_copy, tmp_path):
    """A clinic adds German: export every string, have it translated, import, build."""
    from babel.messages.pofile import read_po, write_po

    po = tmp_path / "de.po"
    assert (
        invoke("translate", "export", "de", "-o", po, "--content", full_content_copy).exit_code == 0
    )
    with po.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.id:  # a stand-in translation that keeps every number and {slot}
            message.string = f"[de] {message.id}"
    with po.open("wb") as f:
        write_po(f, catalog)
    result = invoke("translate", "import", po, "--content", full_content_copy)
    assert result.exit_code == 0, result.output
    assert f"Created {full_content_copy / 'ui' / 'de.yaml'}" in result.output
    assert result.output.count("Created") == 16  # 15 leaflets and the labels
    built = invoke("build", TREATMENT, "-l", "de", "--content", full_content_copy, "-o", tmp_path)
    assert built.exit_code == 0, built.output
    [path] = (tmp_path / "neutral" / "de").glob("*.pdf")
    text = text_of(path)
    assert "[de] When to call us" in text and "[de] Steroid injections for raised scars" in text
    checked = invoke("check", "--content", full_content_copy, "--quick")
    assert "out of date" not in checked.output  # made from today's English


def test_a_clinic_cannot_hide_the_translation_line(clinic_copy, tmp_path):
    css = clinic_copy / "assets" / "hide.css"
    css.write_text(".translation-notice { display: none; }\n", encoding="utf-8")
    with (clinic_copy / "clinic.yaml").open("a", encoding="utf-8") as brand:
        brand.write("extra_css:\n  - assets/hide.css\n")
    out = tmp_path / "out"
    result = invoke("build", TREATMENT, "-l", "es", "-c", clinic_copy, "-o", out)
    assert result.exit_code == 1
    assert "no fluent clinician has checked the translation" in result.output
    assert not list(tmp_path.rglob("*.pdf"))
    # The English leaflet has no such line to hide, and builds.
    assert invoke("build", TREATMENT, "-c", clinic_copy, "-o", out).exit_code == 0
