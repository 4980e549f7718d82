"""Any text a user gives is printed whole, or refused with a message naming where it was given
(issue 9, hardening).

Three kinds of text reach a leaflet: details for one patient (--patient-name, --date,
--clinician, --next-appointment), a clinic's brand file (name, department, phone numbers,
email, address, disclaimer) and the leaflet content (a point's text). For each, hypothesis
tries arbitrary Unicode: right-to-left scripts, combining marks, emoji, very long words,
control characters, bidi overrides (U+202E), line separators and NUL. Every value must
either

- be refused by validation, with a message that names the field (the option, or the file,
  line and field) and, for personal details, does not repeat the value; or
- be printed: the built PDF's text (read back with pdfplumber) holds every character of
  the value where the field is printed, in order, and the build passed handouts' own
  layout checks (a build that succeeds has passed them); or
- stop the build with a clear error that says why: a character no installed font can
  show (naming that character) or text that does not fit (naming the field).

Validation alone is cheap, so those properties try 120 to 250 values each. A rendered
example costs about a second, so the render properties try 12 to 20 each, all with the
one-page summary style (the quickest to make): the patient's details in its "Prepared
for you" box, the clinic's name, department and phone numbers in its heading and "when to
call us" box, and the first "when to call us" point. Examples are derandomised and no
example database is kept, so every run tries the same values.

How the PDF's text is compared: pdfplumber's characters are read in the order they are
drawn (which keeps each field's text together, where its line-by-line text would mix in
the column beside it), and both sides are compared after Unicode compatibility
decomposition (NFKD), without white space (lines wrap) and without default-ignorable
characters (zero-width spaces, joiners, soft hyphens, direction marks: invisible by
design, and never in a PDF's text). A hyphen may appear where a word was broken across
lines. Text in a right-to-left script is drawn in visual order, so for a value with
right-to-left letters the check is that every one of its characters is there (as many
times) and that each run of left-to-right letters is there in order.
"""

from __future__ import annotations

import itertools
import re
import shutil
import string
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from hypothesis import HealthCheck, Phase, currently_in_test_context, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from handouts.build import Selection, plan, run
from handouts.cli import app
from handouts.clinic import load_clinic
from handouts.content import Library
from handouts.errors import ContentError, RenderError
from handouts.models import PersonalDetails, TreatmentHandout
from handouts.paths import clinics_dir, content_dir
from handouts.yamlfile import friendly_message, load_model

from .conftest import TREATMENT

runner = CliRunner()

# Validation only: milliseconds per example.
CHEAP = settings(max_examples=250, derandomize=True, database=None, deadline=None)
# A leaflet made per example: about a second each. A failing example is reported as found
# (shrinking it would make hundreds more leaflets).
RENDERED = settings(
    max_examples=14,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RENDERED_FEW = settings(RENDERED, max_examples=9)

# ----------------------------------------------------------------------------- text


def _chars(first: int, last: int) -> st.SearchStrategy[str]:
    return st.characters(min_codepoint=first, max_codepoint=last, exclude_categories=["Cn"])


def _word(alphabet: st.SearchStrategy[str], most: int = 10) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=most)


PLAIN = _word(st.sampled_from(string.ascii_letters + string.digits + " .,'-()&/:"), 15)
LATIN = _word(_chars(0xA0, 0x24F))
GREEK_CYRILLIC = _word(_chars(0x391, 0x4FF))
HEBREW = _word(_chars(0x5D0, 0x5EA))
ARABIC = _word(_chars(0x621, 0x64A))
DEVANAGARI = _word(_chars(0x904, 0x939))
# A letter carrying one to three combining marks (accents stacked on accents).
COMBINED = st.tuples(
    st.sampled_from("aeiouAEIOUnxy"), st.lists(_chars(0x300, 0x36F), min_size=1, max_size=3)
).map(lambda parts: parts[0] + "".join(parts[1]))
HEBREW_POINTED = st.tuples(HEBREW, _chars(0x5B0, 0x5BC)).map("".join)
SYMBOLS = st.sampled_from(list("€£¥°±×÷→←↑↓♥★✓☎…–—‘’“”«»§¶©®™½¼"))  # noqa: RUF001
EMOJI = st.sampled_from(["😀", "🙂", "❤", "☺", "👍", "👍🏽", "👩\u200d⚕\ufe0f", "🇬🇧", "🧪"])
SPACES = st.sampled_from([" ", " ", "  ", "\u00a0", "\u2009", "\u202f", "\u3000"])
# Invisible, and harmless: zero-width space, (non-)joiners, soft hyphen, direction marks,
# byte order mark, word joiner.
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u00ad", "\u200e", "\u200f", "\ufeff"])
LONG_WORD = st.text(st.sampled_from(string.ascii_letters), min_size=30, max_size=200)
# Refused by validation wherever they are typed (see refused_character).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BIDI = st.sampled_from(list(BIDI_CONTROLS))
CONTROL = st.characters(categories=["Cc"])
BREAKS = st.sampled_from(["\n", "\t", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"])
# Anything at all (most of Unicode has no glyph in the installed fonts).
ANY = st.characters(exclude_categories=["Cs"])

PRINTABLE_PIECES = [
    PLAIN,
    PLAIN,
    LATIN,
    GREEK_CYRILLIC,
    HEBREW,
    ARABIC,
    DEVANAGARI,
    COMBINED,
    HEBREW_POINTED,
    SYMBOLS,
    EMOJI,
    SPACES,
    SPACES,
    INVISIBLE,
    LONG_WORD,
    ANY,
]
HOSTILE_PIECES = [BIDI, CONTROL, BREAKS, st.just("\x00")]


def texts(pieces, most: int = 8) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(pieces), min_size=1, max_size=most).map("".join)


ANY_TEXT = texts(PRINTABLE_PIECES + HOSTILE_PIECES)
PRINTABLE_TEXT = texts(PRINTABLE_PIECES)

# Unicode's White_Space: what validation strips from both ends of a value. (Python's
# str.strip() also strips U+001C to U+001F, which are control characters, not space.)
WHITE_SPACE = "".join(
    ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch not in "\x1c\x1d\x1e\x1f"
)


def event(what: str) -> None:
    """Count an outcome for --hypothesis-show-statistics (helpers also run outside tests)."""
    if currently_in_test_context():
        _event(what)


def refused_character(ch: str) -> bool:
    """A character handouts refuses in any printed text: a control character (other than a
    line break or tab where lines are allowed), a line or paragraph separator, or one of the
    bidi controls that reorder the letters around them (the "Trojan Source" characters)."""
    return (
        unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") and ch not in "\n\t"
    ) or ch in BIDI_CONTROLS


def ignorable(ch: str) -> bool:
    """Default-ignorable characters: invisible, and never in a PDF's text."""
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x180B <= code <= 0x180F
        or code in (0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0)
    )


def squashed(text: str) -> str:
    """Text as compared: NFKD, without white space and default-ignorable characters (and
    NFKD again: a mark that followed a space, as in U+00B8, now sits on a letter)."""
    kept = (
        ch for ch in unicodedata.normalize("NFKD", text) if not ch.isspace() and not ignorable(ch)
    )
    return unicodedata.normalize("NFKD", "".join(kept))


def _in_order(wanted: str, text: str) -> bool:
    """`wanted` occurs in `text`, allowing a hyphen where a word was broken across lines."""
    return re.search("[-\u2010]?".join(map(re.escape, wanted)), text) is not None


def _left_to_right_runs(text: str) -> list[str]:
    """Maximal runs of left-to-right letters (with the marks on them): each is drawn in
    order even in a line that also holds right-to-left text."""
    runs, current, previous = [], "", ""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "NSM":  # a mark takes the direction of the letter it is on
            kind = previous
        if kind == "L":
            current += ch
        else:
            if len(current) > 1:
                runs.append(current)
            current = ""
        previous = kind
    if len(current) > 1:
        runs.append(current)
    return runs


def assert_printed(value: str, region: str, where: str) -> None:
    """Every character of `value` is in `region` (the PDF's text where the field is)."""
    event("printed")
    wanted, got = squashed(value), squashed(region)
    right_to_left = any(unicodedata.bidirectional(ch) in ("R", "AL", "AN") for ch in wanted)
    if not right_to_left:
        assert _in_order(wanted, got), f"{where}: {value!r} is not in the PDF's text {region!r}"
        return
    missing = Counter(wanted) - Counter(got)
    assert not missing, f"{where}: {sorted(missing)} of {value!r} missing from {region!r}"
    # Marks are counted above: a right-to-left word drawn reversed puts its marks before
    # its letters, next to whatever is drawn before it.
    letters = _without_marks(got)
    for found in _left_to_right_runs(wanted):
        part = _without_marks(found)
        if len(part) > 1:
            assert _in_order(part, letters), f"{where}: {part!r} of {value!r} not in {region!r}"


def _without_marks(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def drawn_text(pdf_path: Path) -> str:
    """The PDF's text in the order it is drawn (field by field), squashed."""
    with pdfplumber.open(pdf_path) as pdf:
        return squashed("".join(c["text"] for page in pdf.pages for c in page.chars))


def regions(text: str, *marks: str) -> list[str]:
    """The text between consecutive `marks` (labels printed around the values), each looked
    for after the one before; "" is the start of the text."""
    at, spans = 0, []
    for mark in marks:
        found = text.find(squashed(mark), at)
        assert found >= 0, f"{mark!r} is not in the PDF where expected"
        at = found + len(squashed(mark))
        spans.append((found, at))
    return [text[end:start] for (_, end), (start, _) in itertools.pairwise(spans)]


GLYPH = re.compile(r"no installed font has the character .*? \(U\+([0-9A-F]{4,6})\)")


def assert_clear_render_error(exc: RenderError, values: list[str], names: list[str]) -> None:
    """A build that stopped did so for a reason it names: characters no installed font has
    (each one in a given value), or text that does not fit, naming the field."""
    message = str(exc)
    assert "Traceback" not in message
    missing = [chr(int(code, 16)) for code in GLYPH.findall(message)]
    if missing:
        given = "".join(values)
        assert all(ch in given for ch in missing), message
        event("stopped: a character no font has")
        return
    if "would not print as laid out" in message or "does not fit" in message:
        assert any(name in message for name in names), message
        event("stopped: does not fit, naming the field")
        return
    raise AssertionError(f"the build stopped for an unexpected reason:\n{message}")


@pytest.fixture(scope="module")
def library() -> Library:
    return Library(content_dir())


@pytest.fixture(scope="module")
def labels(library):
    return library.labels("en")


def test_the_comparison_can_fail():
    """The checks the properties rely on catch a missing, reordered or boxed character."""
    assert_printed("Ana Pérez", "NameAnaPérezDate", "x")
    assert_printed("שלום abc", "Nameםולשabc", "x")  # noqa: RUF001 (drawn right to left)
    assert_printed("Name-long", "Name-lo-\nng", "x")  # a word broken across lines
    for value, region in [
        ("Ana Pérez", "NameAnaPerezDate"),  # an accent dropped
        ("Ana", "NameAnDate"),
        ("abc\u202edef", "abcfed"),  # reordered by a bidi override
        ("שלום abc", "Nameםולabc"),  # noqa: RUF001
        ("שלום abcd", "Nameםולשabdc"),  # noqa: RUF001
    ]:
        with pytest.raises(AssertionError):
            assert_printed(value, region, "x")
    with pytest.raises(AssertionError):
        assert_clear_render_error(RenderError("boom"), ["a"], ["--patient-name"])
    with pytest.raises(AssertionError):
        assert_clear_render_error(
            RenderError("no installed font has the character 'x' (U+1F9EA); it would"),
            ["abc"],
            [],
        )


# ----------------------------------------------------------------------------- personal

OPTIONS = {
    "patient_name": "--patient-name",
    "treatment_date": "--date",
    "clinician": "--clinician",
    "next_appointment": "--next-appointment",
}


DATE_LIKE = re.compile(r"\d+[-./]\d+[-./]\d+")
DATE_FIELDS = ("treatment_date", "next_appointment")
MAYBE = "a date in it decides"


def personal_kept(field: str, text: str) -> str | None:
    """What validation must keep of `text`, or None where it must refuse it: each detail is
    one line of 1 to 80 characters, after trimming white space, with no refused character.
    A date in the date of treatment or the next appointment must also exist; where the
    text has something like a date in it, this returns MAYBE (handouts.models decides
    which dates exist: its own tests check that)."""
    kept = text.strip(WHITE_SPACE)
    if not 0 < len(kept) <= 80 or any(refused_character(ch) or ch in "\n\t" for ch in kept):
        return None
    if field in DATE_FIELDS and DATE_LIKE.search(kept):
        return MAYBE
    return kept


def _repeats(kept: str, message: str) -> bool:
    """Whether a message repeats a refused detail (a date alone may be named: "2027-02-30
    does not exist")."""
    return len(kept) >= 4 and kept in message and not DATE_LIKE.fullmatch(kept)


DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
DATE_TEXT = st.one_of(
    DATES.map(date.isoformat),
    DATES.map(lambda d: f"{d.day}/{d.month}/{d.year}"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\Z"),  # many do not exist
    st.from_regex(r"\A[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}\Z"),
)
WITH_DATES = st.lists(st.one_of(PLAIN, DATE_TEXT), min_size=1, max_size=4).map(" ".join)


def personal_texts(field: str) -> st.SearchStrategy[str]:
    if field == "treatment_date":
        return st.one_of(DATE_TEXT, ANY_TEXT)
    if field == "next_appointment":
        return st.one_of(WITH_DATES, ANY_TEXT)
    return ANY_TEXT


@CHEAP
@given(data=st.data(), field=st.sampled_from(list(OPTIONS)))
def test_personal_details_are_kept_as_given_or_refused_naming_the_option(data, field):
    text = data.draw(personal_texts(field), label="text")
    expected = personal_kept(field, text)
    try:
        details = PersonalDetails(**{field: text})
    except ValidationError as exc:
        assert expected is None or expected is MAYBE, f"{text!r} was refused: {exc}"
        kept = text.strip(WHITE_SPACE)
        for error in exc.errors(include_url=False):
            assert error["loc"] == (field,)
            message = friendly_message(error, PersonalDetails, error["loc"])
            assert not _repeats(kept, message)  # never repeats a patient's details
            if expected is MAYBE:
                assert "date" in message or "exist" in message, message
        return
    assert expected is not None, f"{text!r} was accepted"
    assert getattr(details, field) == text.strip(WHITE_SPACE)


@settings(CHEAP, max_examples=120)
@given(data=st.data(), field=st.sampled_from(list(OPTIONS)))
def test_refused_personal_details_stop_the_command_naming_the_option(data, field, tmp_path_factory):
    """On the command line: exit 1, one message that names the option, no traceback,
    nothing written and the value not repeated."""
    text = data.draw(
        personal_texts(field).filter(lambda t: personal_kept(field, t) is None), label="text"
    )
    out = tmp_path_factory.getbasetemp() / "refused-personal"
    result = runner.invoke(app, ["build", TREATMENT, "-o", str(out), OPTIONS[field], text])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert re.match(rf"Error: {re.escape(OPTIONS[field])}(?![\w-])", result.stderr), result.stderr
    assert "Traceback" not in result.output
    assert not _repeats(text.strip(WHITE_SPACE), result.output)
    assert not out.exists()


def _personal_values():
    text = PRINTABLE_TEXT.map(lambda t: t[:80])
    return st.fixed_dictionaries(
        {
            "patient_name": st.none() | text,
            "treatment_date": st.none() | DATES.map(date.isoformat),
            "clinician": st.none() | text,
            "next_appointment": st.none() | text,
        }
    ).filter(lambda values: any(values.values()))


@pytest.mark.slow
@RENDERED
@given(values=_personal_values())
def test_personal_details_are_printed_whole(values, library, labels, tmp_path_factory):
    try:
        details = PersonalDetails(**values)
    except ValidationError:
        event("refused by validation")
        return  # covered above: validation alone
    out = tmp_path_factory.getbasetemp() / "personal"
    selection = Selection([TREATMENT], style="summary", out_dir=out, personal=details)
    given_values = {f: getattr(details, f) for f in OPTIONS if getattr(details, f)}
    try:
        [result] = run(library, plan(library, selection))
    except RenderError as exc:
        names = [OPTIONS[f] for f in given_values]
        assert_clear_render_error(exc, list(given_values.values()), names)
        return
    if "treatment_date" in given_values:  # printed the way the leaflet writes dates
        when = date.fromisoformat(given_values["treatment_date"])
        given_values["treatment_date"] = library.locale(result.job.lang).format_date(when)
    text = drawn_text(result.job.path)
    order = [labels.patient_name, labels.treatment_date, labels.clinician]
    order += [labels.next_appointment, labels.headings.aftercare]
    printed = dict(zip(OPTIONS, regions(text, labels.prepared_for, *order)[1:], strict=True))
    for field, value in given_values.items():
        if field == "next_appointment" and DATE_LIKE.search(value):
            continue  # a date in it may be written the leaflet's way
        assert_printed(value, printed[field], OPTIONS[field])


def test_a_character_no_font_has_is_named_with_its_field(library, tmp_path):
    details = PersonalDetails(patient_name="Ann \U0001f9ea")
    selection = Selection([TREATMENT], style="summary", out_dir=tmp_path, personal=details)
    with pytest.raises(RenderError, match=r"U\+1F9EA") as info:
        run(library, plan(library, selection))
    assert "--patient-name" in str(info.value)


# ----------------------------------------------------------------------------- clinic

# (field, its line in the example clinic's brand file, as written there)
CLINIC_FIELDS = {
    "meta.name": "  name: Riverside Hospital",
    "meta.department": "  department: Dermatology and Scar Clinic",
    "contact.phone": "  phone: 01632 960 123",
    "contact.after_hours": "  after_hours: 01632 960 999",
    "contact.email": "  email: scar.clinic@riverside.example",
    "contact.address (item 1)": "    - Outpatients B, Level 2",
    "disclaimer": "disclaimer: This leaflet gives general information. Your care team will "
    "talk to you about your own treatment.",
}
# The fields the one-page summary prints (the others are in the full leaflet only, whose
# three to four pages take twice as long to make; they share the same template code).
SUMMARY_CLINIC_FIELDS = ["meta.name", "meta.department", "contact.phone", "contact.after_hours"]
EXAMPLE_CLINIC = clinics_dir() / "riverside-dermatology"


def yaml_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar of ASCII only (every other character escaped),
    so that the file holds exactly this value, whatever it is."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def with_value(original: str, written: str, text: str) -> tuple[str, int]:
    """The file with the value on the line `written` (`key: value` or `- value`) replaced by
    `text`, and that line's number."""
    assert written in original
    lead = re.match(r"\s*(?:- )?(?:\w+: )?", written)[0]
    line = original[: original.index(written)].count("\n") + 1
    return original.replace(written, lead + yaml_quoted(text), 1), line


def text_ok(text: str) -> bool:
    """What a clinic file or a leaflet file must accept: text that is not empty once white
    space is trimmed, with no refused character."""
    kept = text.strip(WHITE_SPACE)
    return bool(kept) and not any(refused_character(ch) for ch in kept)


@pytest.fixture(scope="module")
def clinic_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clinics") / "my-clinic"
    shutil.copytree(EXAMPLE_CLINIC, folder)
    return folder


def write_clinic(folder: Path, field: str, text: str) -> int:
    original = (EXAMPLE_CLINIC / "clinic.yaml").read_text(encoding="utf-8")
    written, line = with_value(original, CLINIC_FIELDS[field], text)
    (folder / "clinic.yaml").write_text(written, encoding="utf-8")
    return line


def clinic_value(brand, field: str) -> str | None:
    if field == "contact.address (item 1)":
        return brand.contact.address[0]
    holder, _, name = field.rpartition(".")
    return getattr(getattr(brand, holder) if holder else brand, name)


@CHEAP
@given(field=st.sampled_from(list(CLINIC_FIELDS)), text=ANY_TEXT)
def test_clinic_text_is_kept_as_written_or_refused_naming_file_line_and_field(
    field, text, clinic_folder
):
    line = write_clinic(clinic_folder, field, text)
    try:
        clinic = load_clinic(str(clinic_folder))
    except ContentError as exc:
        assert not text_ok(text), f"{text!r} was refused: {exc}"
        for problem in exc.problems:
            where = (problem.path, problem.line, problem.field)
            assert where == (clinic_folder / "clinic.yaml", line, field), str(problem)
        return
    assert text_ok(text), f"{text!r} was accepted"
    assert clinic_value(clinic.brand, field) == text.strip(WHITE_SPACE)


@pytest.mark.slow
@RENDERED_FEW
@given(
    field=st.sampled_from(SUMMARY_CLINIC_FIELDS),
    # At most 300 characters: WeasyPrint takes 10 s or more to lay out a masthead of
    # a thousand or more (a long department), which only slows the test down.
    text=PRINTABLE_TEXT.map(lambda t: t[:300]).filter(text_ok),
)
def test_clinic_text_is_printed_whole(
    field, text, clinic_folder, library, labels, tmp_path_factory
):
    write_clinic(clinic_folder, field, text)
    out = tmp_path_factory.getbasetemp() / "clinic-out"
    selection = Selection([TREATMENT], style="summary", clinic=str(clinic_folder), out_dir=out)
    value = text.strip(WHITE_SPACE)
    try:
        [result] = run(library, plan(library, selection))
    except RenderError as exc:
        assert_clear_render_error(exc, [value], [f"({field} in "])
        return
    text = drawn_text(result.job.path)
    # The name and department head the page; the phone numbers end "When to call us".
    [masthead] = regions(text, "", labels.summary_kicker)
    phone, after_hours = regions(
        text,
        labels.headings.call_clinic,
        labels.phone,
        labels.after_hours,
        labels.headings.emergency,
    )[1:]
    region = {
        "meta.name": masthead,
        "meta.department": masthead,
        "contact.phone": phone,
        "contact.after_hours": after_hours,
    }[field]
    assert_printed(value, region, field)


# ----------------------------------------------------------------------------- content

LEAFLET = content_dir() / "treatments" / TREATMENT / "en.yaml"


def _call_clinic_points() -> tuple[str, str]:
    """The first 'when to call us' point's line as written in the leaflet file, and the
    start of the second point's text."""
    lines = LEAFLET.read_text(encoding="utf-8").splitlines()
    after = lines[lines.index("call_clinic:") + 1 :]
    first, second = [line for line in after if line.startswith("  - ")][:2]
    return first, second.removeprefix("  - ").removeprefix("text: ")[:20]


@pytest.fixture(scope="module")
def content_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(content_dir(), folder)
    return folder


def write_point(folder: Path, text: str) -> int:
    original = LEAFLET.read_text(encoding="utf-8")
    written, line = with_value(original, _call_clinic_points()[0], text)
    (folder / "treatments" / TREATMENT / "en.yaml").write_text(written, encoding="utf-8")
    return line


@settings(CHEAP, max_examples=200)
@given(text=ANY_TEXT)
def test_a_point_is_kept_as_written_or_refused_naming_file_line_and_field(text, content_folder):
    line = write_point(content_folder, text)
    path = content_folder / "treatments" / TREATMENT / "en.yaml"
    try:  # what Library.handout checks in the file (without reading references.yaml again)
        handout = load_model(path, TreatmentHandout)
    except ContentError as exc:
        assert not text_ok(text), f"{text!r} was refused: {exc}"
        for problem in exc.problems:
            assert (problem.path, problem.line) == (path, line), str(problem)
            assert problem.field.startswith("call_clinic (item 1)"), str(problem)
        return
    assert text_ok(text), f"{text!r} was accepted"
    assert handout.call_clinic[0].text == text.strip(WHITE_SPACE)


def as_printed(text: str) -> str:
    """A point as printed: **bold** loses its asterisks (handouts.templating.rich_text)."""
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text.strip(WHITE_SPACE))


@pytest.mark.slow
@RENDERED_FEW
@given(text=PRINTABLE_TEXT.map(lambda t: t[:400]).filter(text_ok))
def test_a_point_is_printed_whole(text, content_folder, labels, tmp_path_factory):
    write_point(content_folder, text)
    library = Library(content_folder)
    out = tmp_path_factory.getbasetemp() / "content-out"
    selection = Selection([TREATMENT], style="summary", out_dir=out)
    try:
        [result] = run(library, plan(library, selection))
    except RenderError as exc:
        assert_clear_render_error(exc, [text], ["'when to call'", "'when to call us'"])
        return
    [region] = regions(
        drawn_text(result.job.path), labels.headings.call_clinic, _call_clinic_points()[1]
    )
    assert_printed(as_printed(text), region, "call_clinic (item 1)")
