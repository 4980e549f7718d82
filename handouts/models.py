"""The shapes of every input file, as pydantic models.

Every model forbids unknown fields, so a misspelt field name is an error with its
line number rather than text that silently goes missing from a leaflet.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

TREATMENT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANG_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

RefKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
# A regional variety of a language: en-GB, en-US (language, hyphen, country code).
LOCALE_TAG = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
LocaleTag = Annotated[str, StringConstraints(pattern=LOCALE_TAG.pattern)]


# The bidi controls (embeddings, overrides, isolates): invisible, and they reorder the
# letters around them, so "abc\u202edef" prints as "abcfed" ("Trojan Source"). Text in a
# right-to-left language needs none of them; the leaflet sets the direction.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _no_control_chars(value: str) -> str:
    """Refuse characters that would print as nothing, as an empty box, or change what the
    text around them shows: control characters (C0, DEL and C1; a line break or tab is
    allowed where the field may have lines), line and paragraph separators (U+2028,
    U+2029), lone surrogates and the bidi controls."""
    for ch in value:
        if ch in "\n\t":
            continue
        kind = unicodedata.category(ch)
        if kind in ("Cc", "Cs"):
            raise ValueError(
                f"contains an invisible control character (U+{ord(ch):04X}); retype this line"
            )
        if kind in ("Zl", "Zp"):
            raise ValueError(
                f"contains a line or paragraph separator (U+{ord(ch):04X}), which prints as "
                "an empty box; use a space instead"
            )
        if ch in BIDI_CONTROLS:
            raise ValueError(
                f"contains an invisible character (U+{ord(ch):04X}) that changes the order "
                "the letters around it are printed in, so the leaflet would not show what was "
                "typed; retype this line"
            )
    return value


# Text that is printed (or compared with printed text): never empty once trimmed, and
# without the characters _no_control_chars refuses.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_no_control_chars)
]
CleanText = Text  # the name most fields use


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- content


class Variant(Strict):
    """The same point written for one regional variety of English (see content/locales/).

    `base` is a short fingerprint of the English text the variant was written from;
    `handouts check` reports a variant whose English has changed since, and gives the new
    fingerprint to copy in once the variant has been brought up to date.
    """

    text: CleanText
    refs: list[RefKey] | None = None  # the sources of this wording; default: the point's refs
    base: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")] | None = None


class Point(Strict):
    """One sentence or bullet of a leaflet, with the references it rests on.

    In YAML a point is either plain text, or `text:` plus `refs: [KEY, ...]`.
    The refs are for reviewers; the leaflet prints the handout's reference list.

    The text is written in British English. Spelling, temperatures and dates are turned
    into American English automatically (content/locales/en-US.yaml); where the words
    themselves must differ, give the American wording under `en-US:`. `only:` prints
    the point only in the listed varieties (for example a line about the NHS: `only: [en-GB]`).
    """

    model_config = ConfigDict(populate_by_name=True)

    text: CleanText
    refs: list[RefKey] = []
    only: list[LocaleTag] = []
    en_US: Variant | None = Field(None, alias="en-US")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"text": data}
        if isinstance(data, dict) and isinstance(data.get("only"), str):
            return {**data, "only": [data["only"]]}
        return data

    def variant(self, locale: str) -> Variant | None:
        """The wording written for this locale, if there is one."""
        return self.en_US if locale == "en-US" else None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        """In editors, a point may be plain text as well as `text:` + `refs:`."""
        as_object = dict(handler.resolve_ref_schema(handler(core_schema)))
        return {
            "anyOf": [{"type": "string", "minLength": 1}, as_object],
            "description": "Plain text, or text: plus refs: [reference keys]",
        }


Points = Annotated[list[Point], Field(min_length=1)]


class SideEffects(Strict):
    common: Points
    rare_serious: Points


class Review(Strict):
    version: Text
    last_reviewed: date
    next_review: date
    reviewed_by: CleanText | None = None
    # Clinical sign-off of this version. Until both are filled in, the leaflet is a draft:
    # it prints "Draft - not yet approved by a clinician" instead of "Last reviewed".
    # (A clinic can also record its own sign-off in its clinic.yaml: see `approvals`.)
    approved_by: CleanText | None = None
    approved_on: date | None = None
    open_items: list[CleanText] = []  # questions still to settle; never printed

    @model_validator(mode="after")
    def _order(self) -> Review:
        if self.next_review <= self.last_reviewed:
            raise ValueError("next_review must be later than last_reviewed")
        if (self.approved_by is None) != (self.approved_on is None):
            raise ValueError(
                "a clinical sign-off needs both approved_by (who) and approved_on (when)"
            )
        return self


class Translation(Strict):
    """Where a translation came from; required on every file that is not in English.

    `source_hash` is the fingerprint of the English words it was translated from; `handouts
    check` says when the English has changed since (and the fingerprint to set once the
    translation is brought up to date). Until `clinically_reviewed` is true, the leaflet
    prints a line saying that no clinician fluent in the language has checked it.
    """

    source_lang: Annotated[str, StringConstraints(pattern=LANG_TAG.pattern)]
    source_version: Text
    source_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")] | None = None
    method: Literal["machine-assisted", "professional"]
    translator: CleanText  # who or what made it, e.g. "Lingua Medical Ltd" or a tool's name
    clinically_reviewed: bool = False
    reviewed_by: CleanText | None = None  # the clinician fluent in the language
    reviewed_on: date | None = None
    # Labels that are rightly the same words as in English (French "Version {version}"),
    # so that `handouts check` does not report them as left untranslated.
    same_as_english: list[Text] = []

    @model_validator(mode="after")
    def _reviewer(self) -> Translation:
        if self.clinically_reviewed and not self.reviewed_by:
            raise ValueError(
                "a reviewed translation needs reviewed_by: the clinician, fluent in the "
                "language, who checked it"
            )
        return self


class Section(Strict):
    """A free-form section of a guide leaflet: a heading and its points."""

    heading: CleanText
    intro: CleanText | None = None
    points: Points
    numbered: bool = False  # print the points as numbered steps


class HandoutBase(Strict):
    """What every leaflet has, whatever its kind."""

    kind: Literal["treatment", "guide"]
    title: CleanText
    subtitle: CleanText | None = None
    purpose: CleanText
    key_points: Annotated[list[Point], Field(min_length=2, max_length=6)]
    call_clinic: Points
    # Signs that need the clinic straight away, day or night, with emergency services
    # if the clinic cannot be reached at once (printed first in the emergency box).
    urgent: list[Point] = []
    emergency: list[Point] = []  # signs that need emergency services, where there are any
    when_you_call: list[Point] = []  # what to tell whoever answers (printed in the emergency box)
    questions: Points
    related: list[Annotated[str, StringConstraints(pattern=TREATMENT_ID.pattern)]] = []
    references: Annotated[list[RefKey], Field(min_length=1)]
    review: Review
    translation: Translation | None = None

    @field_validator("purpose")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        if len(re.findall(r"[.!?](?:\s|$)", value)) > 1:
            raise ValueError("should be one sentence that says what the leaflet is for")
        return value

    def cited_keys(self) -> list[str]:
        """Every reference key used anywhere in the leaflet, in order of first use."""
        keys = list(self.references)
        for point in self.all_points():
            keys.extend(point.refs)
        return list(dict.fromkeys(keys))

    def body_groups(self) -> list[list[Point]]:
        raise NotImplementedError

    def printed_text(self) -> list[str]:
        """Every sentence of the leaflet's own text as printed (not labels or references)."""
        texts = [self.title, self.subtitle, self.purpose, *self.extra_text()]
        texts += [point.text.replace("**", "") for point in self.all_points()]
        return [text for text in texts if text]

    def extra_text(self) -> list[str]:
        return []

    def all_points(self) -> list[Point]:
        groups = [
            self.key_points,
            *self.body_groups(),
            self.call_clinic,
            self.urgent,
            self.emergency,
            self.when_you_call,
        ]
        return [point for group in [*groups, self.questions] for point in group]


class TreatmentHandout(HandoutBase):
    """A leaflet about one treatment: `content/treatments/<id>/<lang>.yaml`."""

    kind: Literal["treatment"] = "treatment"
    helps: Points
    not_for: list[Point] = []  # who should not have it
    tell_doctor: list[Point] = []  # things to tell the doctor first; not exclusions
    what_happens: Points
    sessions: Points
    recovery: Points
    side_effects: SideEffects
    aftercare: Points

    @model_validator(mode="after")
    def _who(self) -> TreatmentHandout:
        if not (self.not_for or self.tell_doctor):
            raise ValueError(
                "needs not_for (who should not have it) or tell_doctor (what to tell "
                "the doctor first), or both"
            )
        return self

    def body_groups(self) -> list[list[Point]]:
        return [
            self.helps,
            self.not_for,
            self.tell_doctor,
            self.what_happens,
            self.sessions,
            self.recovery,
            self.side_effects.common,
            self.side_effects.rare_serious,
            self.aftercare,
        ]


class GuideHandout(HandoutBase):
    """A general leaflet (types of scars, caring for a scar) made of free-form sections."""

    kind: Literal["guide"]
    sections: Annotated[list[Section], Field(min_length=1)]

    def body_groups(self) -> list[list[Point]]:
        return [section.points for section in self.sections]

    def extra_text(self) -> list[str]:
        return [text for s in self.sections for text in (s.heading, s.intro) if text]


HANDOUT_KINDS: dict[str, type[HandoutBase]] = {
    "treatment": TreatmentHandout,
    "guide": GuideHandout,
}
Handout = TreatmentHandout | GuideHandout


class Reference(Strict):
    short: CleanText  # printed on the leaflet
    full: CleanText | None = None
    url: CleanText | None = None
    secondary: bool = False  # a clinic, commercial or secondary page: rough figures only
    # False for a source a clinic cannot hand over (the seed articles, unnamed clinic pages):
    # it stays on the points for reviewers but is left out of the printed list.
    printed: bool = True


class Bibliography(Strict):
    """`content/references.yaml`: every source a leaflet may cite, by key."""

    references: dict[RefKey, Reference]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def _needs(*names: str, optional: tuple[str, ...] = ()):
    def check(value: str) -> str:
        try:
            found = _placeholders(value)
        except ValueError:
            raise ValueError("has an unmatched { or }") from None
        missing = [n for n in names if n not in found]
        extra = sorted(found - set(names) - set(optional))
        faults = []
        if missing:
            faults.append(f"must contain {', '.join('{' + n + '}' for n in missing)}")
        if extra:
            faults.append(
                f"uses {', '.join('{' + n + '}' for n in extra)}, which handouts cannot fill in"
            )
        if faults:
            raise ValueError("; ".join(faults))
        return value

    return AfterValidator(check)


class Headings(Strict):
    key_points: Text
    helps: Text
    not_for: Text
    tell_doctor: Text
    what_happens: Text
    sessions: Text
    recovery: Text
    side_effects: Text
    side_effects_common: Text
    side_effects_rare: Text
    aftercare: Text
    call_clinic: Text
    emergency: Text
    questions: Text
    related: Text
    references: Text
    contact: Text


class Labels(Strict):
    """`content/ui/<lang>.yaml`: every word the templates print that is not leaflet content."""

    language_name: Text
    direction: Literal["ltr", "rtl"] = "ltr"
    headings: Headings
    page_of: Annotated[Text, _needs("page", "pages")]
    last_reviewed: Annotated[Text, _needs("date")]
    next_review: Annotated[Text, _needs("date")]
    version: Annotated[Text, _needs("version")]
    approved_by: Annotated[Text, _needs("name")]
    draft: Text  # in the footer and the sources instead of "Last reviewed" until sign-off
    draft_notice: Text  # on the first page of a draft
    phone: Text
    after_hours: Text
    email: Text
    website: Text
    address: Text
    clinic_name: Text
    write_here: Text
    emergency_call: Annotated[Text, _needs("number")]
    emergency_generic: Annotated[Text, _needs("number")]
    emergency_services: Text  # said instead of a number when the clinic gives none
    urgent_call: Text  # above the signs for which the clinic is called first, day or night
    urgent_fallback: Annotated[Text, _needs("number")]
    when_you_call: Text
    references_note: Text
    translation_notice: Text
    qr_alt: Annotated[Text, _needs("url")]
    qr_caption: Text
    prepared_for: Text
    patient_name: Text
    treatment_date: Text
    clinician: Text
    next_appointment: Text
    summary_kicker: Text  # above the title on the one-page summary
    fold_here: Text  # on the tri-fold's inside flap
    summary_sources: Annotated[Text, _needs("title")]  # at the foot of the one-page summary
    translation: Translation | None = None  # where the labels came from, if not English


class LocaleFile(Strict):
    """`content/locales/<language>-<COUNTRY>.yaml`: one regional variety of a language.

    The leaflets of a language are written once; a variety records only what differs:
    spellings, temperatures, label wording and the words that must not be printed.
    """

    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
    name: Text
    default: bool = False  # the variety used when a clinic names only the language
    temperature: Literal["celsius", "fahrenheit"] = "celsius"
    spelling: dict[Text, Text] = {}  # source spelling -> this variety's spelling
    not_in_print: list[Text] = []
    labels: dict[str, Text] = {}  # label name -> wording for this variety

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, value: dict[str, str]) -> dict[str, str]:
        known = set(Labels.model_fields)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} is not a label; labels are listed in ui/en.yaml"
            )
        return value


# --------------------------------------------------------------------------- clinics
# The clinic's brand file follows the shape of posit's brand.yml where it fits
# (meta, logo, color with a palette, typography) and adds what a clinic needs.


def _hex(value: str) -> str:
    if not HEX_COLOUR.match(value):
        raise ValueError("should be a colour written as # and six hex digits, for example #1f5f8b")
    return value.lower()


def _colour_or_name(value: str) -> str:
    if value.startswith("#"):
        return _hex(value)
    if not re.match(r"^[a-z][a-z0-9-]*$", value):
        raise ValueError(
            "should be a colour like #1f5f8b, or the name of a colour in color.palette"
        )
    return value


Colour = Annotated[str, AfterValidator(_hex)]
ColourRef = Annotated[str, AfterValidator(_colour_or_name)]
PaletteName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]


class ClinicMeta(Strict):
    name: CleanText | None = None
    department: CleanText | None = None


# The longest website handouts prints as a QR code (as contact.qr_url). A QR code holds at
# most about 2,300 letters; a longer address stopped the build with a traceback.
MAX_WEBSITE = 300


def _fits_a_qr_code(value: str) -> str:
    if len(value) > MAX_WEBSITE:
        raise ValueError(
            f"is too long ({len(value):,} characters; at most {MAX_WEBSITE}): it is printed "
            "as a QR code, which holds a short address. Give the address of the page itself"
        )
    return value


class Contact(Strict):
    phone: CleanText | None = None
    after_hours: CleanText | None = None
    email: CleanText | None = None
    website: Annotated[CleanText, AfterValidator(_fits_a_qr_code)] | None = None
    address: list[CleanText] = []
    emergency_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,4}$")] | None = None
    # Printed as a QR code with the address beneath it; {treatment} and {lang} are filled in.
    # Without it, the website is used.
    qr_url: (
        Annotated[
            str,
            StringConstraints(pattern=r"^https?://\S+$", max_length=300),
            AfterValidator(_no_control_chars),  # printed beneath the QR code
            _needs(optional=("treatment", "lang")),
        ]
        | None
    ) = None


class LogoImage(Strict):
    path: CleanText  # relative to the clinic folder
    alt: CleanText


class Logos(Strict):
    """Logos by size, as in brand.yml; the leaflet header uses medium (else large, else small)."""

    small: LogoImage | None = None
    medium: LogoImage | None = None
    large: LogoImage | None = None
    position: Literal["left", "right"] = "left"

    def for_header(self) -> tuple[str, LogoImage] | None:
        for size in ("medium", "large", "small"):
            image = getattr(self, size)
            if image is not None:
                return size, image
        return None


class Colours(Strict):
    """A named palette plus the colours each part of the leaflet uses (hex or palette name)."""

    palette: dict[PaletteName, Colour] = {}
    foreground: ColourRef = "#1a1a1a"  # body text
    background: ColourRef = "#ffffff"  # the page
    primary: ColourRef = "#1d4f73"  # headings, rules, the 'when to call us' box
    emergency: ColourRef = "#a4161a"  # the emergency box


class FontFile(Strict):
    path: CleanText  # relative to the clinic folder: .ttf, .otf or .woff
    weight: Literal["normal", "bold", 100, 200, 300, 400, 500, 600, 700, 800, 900] = "normal"
    style: Literal["normal", "italic"] = "normal"


class FontFamily(Strict):
    family: CleanText
    files: Annotated[list[FontFile], Field(min_length=1)]


class FontUse(Strict):
    family: CleanText  # a family from typography.fonts, or one installed on the computer


class Typography(Strict):
    fonts: list[FontFamily] = []
    base: FontUse | None = None  # body text
    headings: FontUse | None = None


PersonalText = Annotated[CleanText, StringConstraints(max_length=80)]


class PersonalDetails(Strict):
    """Optional details for one patient, printed in the "Prepared for" box and nowhere else."""

    patient_name: PersonalText | None = None
    treatment_date: PersonalText | None = None
    clinician: PersonalText | None = None
    next_appointment: PersonalText | None = None

    @field_validator("*")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and any(ch in value for ch in "\n\t\r"):
            raise ValueError("must be one line of text")
        return value

    @field_validator("treatment_date", "next_appointment")
    @classmethod
    def _dates_exist(cls, value: str | None) -> str | None:
        """A date in the date of treatment or the next appointment must exist: 2026-02-30
        is refused, and so is 30/02/2026 (or 02/30/2026), which no reading makes a date.
        Other text is kept as given ("Tuesday 3 March at 10:30"); a date written
        YYYY-MM-DD is printed the way the leaflet's language writes dates."""
        for match in re.finditer(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])", value or ""):
            cls._existing(match[0], *(int(part) for part in match.groups()))
        for match in re.finditer(
            r"(?<![\d./-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./-])", value or ""
        ):
            first, second, year = int(match[1]), int(match[3]), int(match[4])
            year += 2000 if len(match[4]) == 2 else 0
            readings = [(year, second, first), (year, first, second)]  # day first, month first
            if any(cls._exists(*reading) for reading in readings):
                continue
            if first > 12 and second > 12:
                raise ValueError(
                    f"{match[0]} does not exist: "
                    + (f"neither {first} nor {second}" if first != second else f"{first}")
                    + " is a month; "
                    "give the date as YYYY-MM-DD (year, month, day), e.g. 2026-11-20"
                )
            cls._existing(match[0], *readings[0 if first > 12 else 1])
        return value

    @staticmethod
    def _exists(year: int, month: int, day: int) -> bool:
        try:
            date(year, month, day)
        except ValueError:
            return False
        return True

    @staticmethod
    def _existing(text: str, year: int, month: int, day: int) -> date:
        """The date, or a ValueError saying in words why it does not exist."""
        import calendar

        form = "give the date as YYYY-MM-DD (year, month, day), e.g."
        if not 1 <= year <= 9999:
            raise ValueError(f"{text} does not exist: there is no year {year}; {form} 2026-11-20")
        if not 1 <= month <= 12:
            swapped = f"{year:04}-{day:02}-{month:02}" if 1 <= day <= 12 else f"{year:04}-12-01"
            raise ValueError(f"{text} does not exist: there is no month {month}; {form} {swapped}")
        if day == 0:
            raise ValueError(
                f"{text} does not exist: there is no day 0; {form} {year:04}-{month:02}-01"
            )
        days = calendar.monthrange(year, month)[1]
        if day > days:
            name = (
                *("January", "February", "March", "April", "May", "June", "July", "August"),
                *("September", "October", "November", "December"),
            )[month - 1]  # not calendar.month_name: that follows the computer's language
            raise ValueError(
                f"{day} {name} {year} does not exist ({name} {year} has {days} days); "
                f"{form} {year:04}-{month:02}-{days:02}"
            )
        return date(year, month, day)


class ClinicDefaults(Strict):
    # The language and its variety, e.g. en-GB (British English) or en-US (American
    # English): spelling, words, dates and temperatures follow it.
    language: Annotated[str, StringConstraints(pattern=LANG_TAG.pattern)] = "en-GB"
    paper: Literal["a4", "letter"] = "a4"
    style: Annotated[str, StringConstraints(pattern=TREATMENT_ID.pattern)] = "standard"


class Approval(Strict):
    """A clinician's sign-off of leaflets for this clinic: who, when, and which versions.

    A sign-off covers the version named; when a leaflet gets a new version it prints as a
    draft again until that version is signed off.
    """

    signed_by: CleanText  # name and role, e.g. "Dr A. Okafor, consultant dermatologist"
    signed_on: date
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")] = "en"
    leaflets: Annotated[
        dict[Annotated[str, StringConstraints(pattern=TREATMENT_ID.pattern)], Text],
        Field(min_length=1),
    ]  # leaflet id -> the version signed off, e.g. steroid-injections: "1.1"


LanguageTag = Annotated[str, StringConstraints(pattern=LANG_TAG.pattern)]


class ClinicTexts(Strict):
    """A clinic's own words in another language: only the clinic can translate them."""

    department: CleanText | None = None
    disclaimer: CleanText | None = None


# The clinic texts a leaflet in another language prints from `translations:`.
CLINIC_TEXTS = ("department", "disclaimer")


class ClinicFile(Strict):
    """`<clinic folder>/clinic.yaml`: who the clinic is, how to reach it, how it looks."""

    meta: ClinicMeta = ClinicMeta()
    contact: Contact = Contact()
    logo: Logos = Logos()
    color: Colours = Colours()
    typography: Typography = Typography()
    extra_css: list[CleanText] = []  # stylesheets in the clinic folder, applied after the style's
    defaults: ClinicDefaults = ClinicDefaults()
    disclaimer: CleanText | None = None
    approvals: list[Approval] = []  # clinical sign-off of the leaflets this clinic prints
    # The department and disclaimer in other languages, e.g. es: {department: ...}; a
    # leaflet in a language without them prints the English ones (and check says so).
    translations: dict[
        Annotated[str, StringConstraints(pattern=LANG_TAG.pattern)], ClinicTexts
    ] = {}

    def in_language(self, language: str) -> ClinicFile:
        """This clinic's file with its department and disclaimer in `language` where given."""
        texts = self.translations.get(language)
        if texts is None:
            return self
        meta = self.meta
        if texts.department:
            meta = meta.model_copy(update={"department": texts.department})
        update = {"meta": meta}
        if texts.disclaimer:
            update["disclaimer"] = texts.disclaimer
        return self.model_copy(update=update)

    def untranslated(self, language: str) -> list[str]:
        """The clinic texts given in English but not in `language`."""
        texts = self.translations.get(language) or ClinicTexts()
        given = {"department": self.meta.department, "disclaimer": self.disclaimer}
        return [name for name in CLINIC_TEXTS if given[name] and not getattr(texts, name)]

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """A section whose lines are all commented out is an empty section, not an error."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data
