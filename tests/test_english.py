"""British and American English, drafts and sign-off, and the clinical review's corrections,
all checked on the text of the built PDFs."""

from __future__ import annotations

import difflib
import re
import shutil

import pdfplumber
import pypdf
import pytest
from typer.testing import CliRunner

from handouts.build import Selection, plan, run
from handouts.check import points_with_places
from handouts.cli import app
from handouts.content import Library
from handouts.paths import clinics_dir, content_dir

from .conftest import TREATMENT, build_one, replace_in

LIBRARY = Library(content_dir())
TREATMENTS = LIBRARY.treatments()
GB, US = LIBRARY.locale("en-GB"), LIBRARY.locale("en-US")
FOOTER_MM = 21  # the standard style's bottom page margin, where the running footer is
runner = CliRunner()


def flat(text: str) -> str:
    return " ".join(text.replace("**", "").replace("•", " ").split())


def body_text(path) -> str:
    """The text of every page above the running footer, as one line."""
    with pdfplumber.open(path) as pdf:
        pages = [
            page.crop((0, 0, page.width, page.height - FOOTER_MM * 72 / 25.4)).extract_text()
            for page in pdf.pages
        ]
    return flat(" ".join(pages))


@pytest.fixture(scope="session")
def english(tmp_path_factory) -> dict[tuple[str, str], str]:
    """Every leaflet in British and American English (neutral clinic, standard, A4)."""
    out = tmp_path_factory.mktemp("english")
    texts = {}
    for tag in ("en-GB", "en-US"):
        for result in run(LIBRARY, plan(LIBRARY, Selection(TREATMENTS, lang=tag, out_dir=out))):
            assert result.job.path.parent.name == tag
            texts[(result.job.treatment, tag)] = body_text(result.job.path)
    return texts


def section(text: str, start: str, end: str) -> str:
    """The text from one heading to the next."""
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


H = LIBRARY.labels("en").headings
DRAFT = LIBRARY.labels("en").draft  # "Draft - not yet approved by a clinician"


# --------------------------------------------------------------------------- varieties


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("The colour may change.", "The color may change."),
        ("Colour and COLOUR", "Color and COLOR"),
        ("skin turns white, grey or blue", "skin turns white, gray or blue"),
        ("a local anaesthetic and moisturising cream", "a local anesthetic and moisturizing cream"),
        ("See your GP. GP visits", "See your primary care doctor. Primary care doctor visits"),
        ("a temperature over 38 °C.", "a temperature over 38 °C (100.4 °F)."),
        ("between 36.5°C and 40 °C", "between 36.5 °C (97.7 °F) and 40 °C (104 °F)"),
        ("already 38 °C (100.4 °F)", "already 38 °C (100.4 °F)"),
        ("take paracetamol tablets", "take acetaminophen pills"),
        ("colourful discoloured", "colourful discolored"),  # only whole listed words change
    ],
)
def test_american_spelling_words_and_temperatures(british, american):
    assert US.text(british) == american
    assert GB.text(british) == british


def test_dates_follow_the_variety(tmp_path):
    for clinic, tag, written in [
        ("riverside-dermatology", "en-GB", "22 November 2026"),
        ("harbour-skin-clinic", "en-US", "November 22, 2026"),
    ]:
        result = runner.invoke(
            app, ["build", TREATMENT, "-c", clinic, "--date", "2026-11-22", "-o", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        [path] = (tmp_path / clinic / tag).glob("*.pdf")
        text = body_text(path)
        assert written in text
        other = "November 22, 2026" if tag == "en-GB" else "22 November 2026"
        assert other not in text


@pytest.mark.slow
@pytest.mark.parametrize("treatment", TREATMENTS)
def test_american_and_british_leaflets_differ_exactly_where_the_content_says(english, treatment):
    """Every point prints in the varieties it is for, in that variety's words; and apart
    from those points and the labels a variety rewords, the two leaflets are word for word
    the same once the British one is respelt."""
    handout = LIBRARY.handout(treatment, "en")
    gb_text, us_text = english[(treatment, "en-GB")], english[(treatment, "en-US")]
    differing: list[str] = []  # text the content says may differ between the two
    for loc, point in points_with_places(handout):
        variant = point.variant("en-US")
        gb_line = flat(point.text) if GB.keeps(point) else None
        us_line = (
            flat(US.text(variant.text if variant else point.text)) if US.keeps(point) else None
        )
        if gb_line:
            assert gb_line in gb_text, (treatment, loc, "missing from en-GB")
        if us_line:
            assert us_line in us_text, (treatment, loc, "missing from en-US")
        if gb_line and gb_line != us_line:
            assert gb_line not in us_text, (treatment, loc, "British wording in en-US")
        if us_line and us_line != flat(US.text(point.text)):
            assert us_line not in gb_text, (treatment, loc, "American wording in en-GB")
        if variant or point.only:
            differing += [line for line in (gb_line, us_line) if line]
            keys = [*point.refs, *(variant.refs or [] if variant else [])]
            differing += [flat(LIBRARY.bibliography.references[k].short) for k in keys]
    differing += [flat(US.text(v)) for v in US.spec.labels.values()]
    differing += [
        flat(v) for v in LIBRARY.localised_labels(GB).model_dump().values() if isinstance(v, str)
    ]
    expected, actual = US.text(gb_text).split(), us_text.split()
    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        for words in (expected[a1:a2], actual[b1:b2]):
            chunk = " ".join(words)
            if chunk.replace(" ", "").isdigit():
                continue  # step numbers shift when a step is left out
            assert not chunk or any(
                chunk in line or US.text(chunk) in line for line in differing
            ), (
                treatment,
                op,
                " ".join(expected[a1:a2]),
                " ".join(actual[b1:b2]),
            )


def leaflet_words(text: str) -> str:
    """The text without the list of sources: their titles are names, not our words."""
    return text[: text.index(H.references)]


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_american_leaflets_have_no_british_words(english, treatment):
    found = US.banned_words(leaflet_words(english[(treatment, "en-US")]))
    assert found == [], (treatment, found)


def test_the_british_word_list_finds_british_leaflets(english):
    """The word list is not empty talk: the British leaflets do use those words."""
    found = {w.lower() for t in TREATMENTS for w in US.banned_words(english[(t, "en-GB")])}
    assert {"colour", "nhs", "haelan"} <= found


def test_temperatures_are_in_fahrenheit_too_in_american_leaflets(english):
    with_fever = [t for t in TREATMENTS if "38 °C" in english[(t, "en-GB")]]
    assert len(with_fever) >= 10
    for treatment in with_fever:
        assert "°F" not in english[(treatment, "en-GB")]
        us = english[(treatment, "en-US")]
        assert "38 °C (100.4 °F)" in us
        assert len(re.findall(r"°C(?! \()", us)) == 0, treatment


def test_each_clinic_prints_its_own_english(tmp_path):
    cases = [
        (["-c", "harbour-skin-clinic"], "harbour-skin-clinic", "en-US"),
        (["-c", "harbour-skin-clinic", "--lang", "en"], "harbour-skin-clinic", "en-US"),
        (["-c", "harbour-skin-clinic", "--lang", "en-GB"], "harbour-skin-clinic", "en-GB"),
        (["-c", "riverside-dermatology"], "riverside-dermatology", "en-GB"),
        (["-c", "riverside-dermatology", "-l", "en-US"], "riverside-dermatology", "en-US"),
        (["-c", "riverside-dermatology", "-l", "EN-us"], "riverside-dermatology", "en-US"),
        ([], "neutral", "en-GB"),
    ]
    for args, clinic, tag in cases:
        result = runner.invoke(app, ["build", "silicone-gel", *args, "-o", str(tmp_path), "--json"])
        assert result.exit_code == 0, result.output
        assert f"/{clinic}/{tag}/silicone-gel-" in result.stdout
    us = body_text(next((tmp_path / "harbour-skin-clinic" / "en-US").glob("*.pdf")))
    gb = body_text(next((tmp_path / "riverside-dermatology" / "en-GB").glob("*.pdf")))
    assert "Cordran" in us and "Haelan" not in us
    assert "Haelan" in gb and "Cordran" not in gb
    assert "After hours:" in us and "Out of hours:" in gb


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en-AU", "There is no variety of en (content/locales) called 'en-AU'"),
        ("de", "There is no 'de' version of silicone-gel"),
        ("english", "'english' is not a language tag like en, en-GB, es or zh-Hans"),
    ],
)
def test_a_language_that_does_not_exist_is_refused(tmp_path, lang, message):
    result = runner.invoke(app, ["build", "silicone-gel", "--lang", lang, "-o", str(tmp_path)])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("*.pdf"))


# --------------------------------------------------------------------------- check


def leaflet(content, treatment=TREATMENT):
    return content / "treatments" / treatment / "en.yaml"


def check(*args):
    """`handouts check --quick`: the content checks, without making leaflets in memory
    (tests/test_clinic_check.py covers those)."""
    return runner.invoke(app, ["check", "--quick", *[str(a) for a in args]])


def test_check_reports_a_british_word_left_in_an_american_leaflet(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "questions:\n  - ", "questions:\n  - Can I have this on the NHS? ")
    result = check("--content", content_copy)
    assert result.exit_code == 1
    assert f"Error: {path}:{line + 1}: questions (item 1): the en-US leaflet would print NHS" in (
        result.stderr
    )


def test_check_reports_an_american_wording_whose_british_text_changed(content_copy):
    path = leaflet(content_copy, "silicone-gel")
    text = path.read_text(encoding="utf-8")
    match = re.search(r"- text: (.*Haelan.*)\n", text)
    assert match, "the silicone leaflet names Haelan tape with an en-US wording"
    line = replace_in(path, match.group(1), match.group(1).replace("Haelan", "Haelan brand"))
    result = check("--content", content_copy)
    assert result.exit_code == 1
    assert "the British text has changed since this en-US wording was written" in result.stderr
    assert f"{path}:" in result.stderr
    found = re.search(r"\(base ([0-9a-f]{8}), now ([0-9a-f]{8})\)", result.stderr)
    assert found
    # Following the message fixes it.
    replace_in(path, f"base: {found.group(1)}", f"base: {found.group(2)}")
    again = check("--content", content_copy)
    assert "wording was written" not in again.stderr
    assert line > 0


def test_check_refuses_an_unknown_variety(content_copy):
    path = leaflet(content_copy)
    line = replace_in(path, "questions:\n  - ", "questions:\n  - only: [en-AU]\n    text: ")
    result = check("--content", content_copy)
    assert result.exit_code == 1
    assert "'en-AU' is not a variety of this language; use one of: en-GB, en-US" in result.stderr
    assert f"{path}:{line + 1}" in result.stderr


# --------------------------------------------------------------------------- drafts


def test_a_draft_says_so_on_every_page_and_never_claims_a_review(riverside_a4):
    texts = riverside_a4.page_texts()
    for text in texts:
        assert DRAFT in text
        assert "Last reviewed" not in text
    assert "Do not give this leaflet to patients until a clinician has approved it" in flat(
        texts[0]
    )


@pytest.mark.parametrize("style", ["summary", "trifold", "large-print"])
def test_every_style_shows_the_draft_state(tmp_path, style):
    result = runner.invoke(app, ["build", TREATMENT, "-s", style, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [path] = tmp_path.rglob("*.pdf")
    with pdfplumber.open(path) as pdf:
        text = flat(" ".join(p.extract_text() for p in pdf.pages))
    assert DRAFT in text
    assert "Last reviewed" not in text


def approve(clinic_folder, version: str, treatment=TREATMENT) -> None:
    with (clinic_folder / "clinic.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "approvals:\n"
            "  - signed_by: Dr Ama Mensah, consultant dermatologist\n"
            "    signed_on: 2026-12-01\n"
            f'    leaflets: {{{treatment}: "{version}"}}\n'
        )


def test_a_clinic_sign_off_brings_back_the_review_footer(clinic_copy, tmp_path):
    version = LIBRARY.handout(TREATMENT, "en").review.version
    approve(clinic_copy, version)
    built = build_one(tmp_path / "out", clinic=str(clinic_copy))
    texts = built.page_texts()
    for text in texts:
        assert "Last reviewed 1 December 2026" in text
        assert "Draft" not in text
    assert "Approved by Dr Ama Mensah, consultant dermatologist" in flat(" ".join(texts))
    result = check("--clinic", clinic_copy)
    drafts = [line for line in result.stderr.splitlines() if "is a draft" in line]
    assert len(drafts) == len(TREATMENTS) - 1
    assert not any(f"/{TREATMENT}/" in line for line in drafts)


def test_a_sign_off_of_an_old_version_leaves_a_draft(clinic_copy, tmp_path):
    approve(clinic_copy, "0.9")
    built = build_one(tmp_path / "out", clinic=str(clinic_copy))
    assert DRAFT in built.page_texts()[0]
    result = check("--clinic", clinic_copy)
    assert f"{TREATMENT}: signs off version 0.9, but the leaflet is now version" in result.stderr
    strict = check("--clinic", clinic_copy, "--strict")
    assert strict.exit_code == 1


def test_strict_check_passes_once_every_leaflet_is_signed_off(clinic_copy):
    lines = "".join(f'      {t}: "{LIBRARY.handout(t, "en").review.version}"\n' for t in TREATMENTS)
    with (clinic_copy / "clinic.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "approvals:\n  - signed_by: Dr Ama Mensah\n    signed_on: 2026-12-01\n"
            f"    leaflets:\n{lines}"
        )
    result = check("--clinic", clinic_copy, "--strict")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.stdout


def test_a_sign_off_naming_a_leaflet_that_does_not_exist_is_an_error(clinic_copy):
    approve(clinic_copy, "1.1", treatment="steroid-injection")
    result = check("--clinic", clinic_copy)
    assert result.exit_code == 1
    assert "there is no leaflet called 'steroid-injection'" in result.stderr


# --------------------------------------------------------------------------- references


def test_no_leaflet_prints_a_source_a_clinic_cannot_hand_over(english):
    hidden = [ref.short for ref in LIBRARY.bibliography.references.values() if not ref.printed]
    assert len(hidden) >= 10
    for (treatment, tag), text in english.items():
        refs = section(text, H.references, LIBRARY.labels("en").references_note)
        for short in hidden:
            assert flat(short) not in refs, (treatment, tag, short)
        for phrase in ("seed", "clinic pages", "Press reports", "General clinic information"):
            assert phrase not in refs, (treatment, tag, phrase)


def test_every_printed_source_is_in_the_list(tmp_path):
    """Read in drawing order (pypdf), as the list is set in two columns."""
    jobs = plan(LIBRARY, Selection(TREATMENTS, out_dir=tmp_path))
    for result in run(LIBRARY, jobs):
        treatment = result.job.treatment
        handout = LIBRARY.localised(treatment, GB)
        text = flat(" ".join(p.extract_text() for p in pypdf.PdfReader(result.job.path).pages))
        refs = section(text, H.references, "Your clinic can give you")
        for key in handout.cited_keys():
            ref = LIBRARY.bibliography.references[key]
            if ref.printed:
                assert flat(ref.short) in refs, (treatment, key)


def test_bundled_clinic_folders_are_untouched():
    """The tests above work on copies; the example clinics keep no approvals."""
    for clinic in ("neutral", "riverside-dermatology", "harbour-skin-clinic"):
        assert "approvals:" not in (clinics_dir() / clinic / "clinic.yaml").read_text()


# --------------------------------------------------------------------------- corrections
# Each finding of the clinical review of 2026-11-23 that the issue lists, on the PDF text
# of both varieties (neutral clinic: the emergency number reads "emergency services").

BOTH = ("en-GB", "en-US")


@pytest.mark.parametrize("tag", BOTH)
def test_fillers_call_the_clinic_first_for_skin_changes_and_999_for_eyesight(english, tag):
    text = english[("fillers", tag)]
    box = section(text, H.emergency, H.questions)
    labels = LIBRARY.localised_labels(LIBRARY.locale(tag))
    order = [
        labels.urgent_call,  # "Call us straight away, day or night, if:"
        "severe pain",
        "white, gr",  # grey / gray
        "blotchy",
        labels.urgent_fallback.format(number="emergency services"),
        labels.emergency_call.format(number="emergency services"),
        "eyesight",
        "stroke",
        "slurred speech",
        "arm or leg",
        labels.when_you_call,
        "which filler",
    ]
    places = [box.find(flat(part)) for part in order]
    assert -1 not in places, list(zip(order, places, strict=True))
    assert places == sorted(places), list(zip(order, places, strict=True))
    # The skin signs are not listed under "call emergency services at once".
    emergency_part = box[box.index(flat(order[5])) :]
    assert "blotchy" not in emergency_part


@pytest.mark.parametrize("tag", BOTH)
def test_fillers_say_who_should_not_have_them_and_the_missing_side_effects(english, tag):
    text = english[("fillers", tag)]
    assert H.not_for in text and "lidocaine" in text
    for effect in ("lump", "infection", "allerg", "uneven", "donor site"):
        assert effect in text.lower(), effect


def test_no_leaflet_says_every_three_days_or_scar_only_for_steroid_tape(english):
    for (treatment, tag), text in english.items():
        lowered = text.lower()
        for wrong in ("every 3 days", "every three days", "on the scar only", "scar only"):
            assert wrong not in lowered, (treatment, tag, wrong)
    gb, us = english[("silicone-gel", "en-GB")], english[("silicone-gel", "en-US")]
    assert "Haelan tape" in gb and "12 hours in every 24" in gb
    assert "Cordran tape" in us and "every 12 hours" in us
    for text in (gb, us):
        assert "exactly as your doctor and the pack leaflet say" in text


@pytest.mark.parametrize("tag", BOTH)
def test_five_fu_and_radiotherapy_are_not_given_in_pregnancy(english, tag):
    five_fu = english[("5fu-injections", tag)]
    assert "5-FU is not given if you are pregnant or breastfeeding" in five_fu
    assert "contraception" in five_fu and "6 months" in five_fu
    radio = english[("radiotherapy", tag)]
    assert "Radiotherapy is not given if you are pregnant" in radio


@pytest.mark.parametrize("tag", BOTH)
def test_pressure_garments_print_the_too_tight_signs(english, tag):
    text = english[("pressure-therapy", tag)]
    calls = section(text, H.call_clinic, H.emergency)
    for sign in ("hurts", "pale or blue", "tingles", "numb", "breaks down", "Take it off"):
        assert sign in calls, sign


@pytest.mark.parametrize("tag", BOTH)
def test_steroid_injections_do_not_promise_keloids_halve(english, tag):
    text = english[("steroid-injections", tag)]
    assert "half or more" not in text
    assert "Many keloids get flatter and softer, but not all respond" in text


@pytest.mark.parametrize("tag", BOTH)
def test_cryotherapy_lighter_skin_is_common_and_can_be_permanent(english, tag):
    text = english[("cryotherapy", tag)]
    common = section(text, H.side_effects_common, H.side_effects_rare)
    assert "lighter" in common and "permanent" in common
    assert "Numbness" in common
    assert "Blisters" in common
    rules_out = section(text, H.not_for, H.what_happens)
    for condition in ("cold urticaria", "Raynaud"):
        assert condition in rules_out


def test_laser_darker_skin_isotretinoin_sun_and_the_nhs_only_in_the_uk(english):
    for tag in BOTH:
        text = english[("laser", tag)]
        assert "isotretinoin" in text
        assert "at least a year" in text and "1 to 2 months" in text
        assert "darker skin" in text.lower() or "brown or black skin" in text
    assert "NHS" in leaflet_words(english[("laser", "en-GB")])
    us = leaflet_words(english[("laser", "en-US")])
    assert "NHS" not in us and "insurance" in us


INFECTION_LINES = [
    "The skin around the treated area gets more red, hot, sore or swollen.",
    "Pus or other liquid (often green or yellow) comes out of the treated skin.",
    "You feel generally unwell, or you have a temperature over 38 °C.",
    "You have pain that is not eased by painkillers.",
]
BREAKS_THE_SKIN = [
    "5fu-injections",
    "chemical-peels",
    "cryotherapy",
    "fillers",
    "laser",
    "microneedling",
    "radiotherapy",
    "scar-revision-surgery",
    "steroid-injections",
    "subcision",
]


@pytest.mark.parametrize("treatment", BREAKS_THE_SKIN)
def test_infection_signs_are_the_same_lines_in_every_leaflet_that_breaks_the_skin(
    english, treatment
):
    for tag in BOTH:
        calls = section(english[(treatment, tag)], H.call_clinic, H.emergency)
        for line in INFECTION_LINES:
            assert flat(LIBRARY.locale(tag).text(line)) in calls, (treatment, tag, line)


def test_drafts_never_print_a_review_date(english):
    for (treatment, tag), text in english.items():
        assert "Last reviewed" not in text, (treatment, tag)
        assert DRAFT in text, (treatment, tag)


def test_a_content_folder_without_varieties_prints_its_english_as_written(content_copy, tmp_path):
    shutil.rmtree(content_copy / "locales")
    result = runner.invoke(
        app, ["build", "silicone-gel", "--content", str(content_copy), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [path] = (tmp_path / "neutral" / "en").glob("*.pdf")
    assert "Haelan" in body_text(path)
    asked = runner.invoke(
        app,
        [
            "build",
            "silicone-gel",
            "-l",
            "en-US",
            "--content",
            str(content_copy),
            "-o",
            str(tmp_path),
        ],
    )
    assert asked.exit_code == 2
    assert "There is no variety of en (content/locales) called 'en-US'" in asked.stderr


@pytest.mark.parametrize(
    ("typed", "tag", "printed"),
    [
        ("2026-2-3", "en-GB", "3 February 2026"),
        ("2026-02-03", "en-US", "February 3, 2026"),
        (" 2026-12-1 ", "en-US", "December 1, 2026"),
        ("Tuesday 3 March at 10:30", "en-GB", "Tuesday 3 March at 10:30"),
    ],
)
def test_a_date_of_treatment_is_written_the_varietys_way(typed, tag, printed):
    from handouts.templating import _as_date

    assert _as_date(typed, LIBRARY.locale(tag)) == printed
