"""Registration and licence numbers, claims of being licensed, and named pharmacists and prescribers.

Fact kinds:

- `licence`: a registration or licence number written next to the words that name it (one per scheme and number).
  Registers, the names that say them and their number formats are data: `rules/reference/licences.yaml`.
  value: the number as written. attrs: `scheme` (a scheme of licences.yaml: gphc_premises | gphc_pharmacist |
  gphc_technician | gphc_unknown (GPhC numbers by what they register) | us_state_board | nabp | canada_college |
  de_apothekerkammer | fr_rpps | fr_ars | nl_big | nl_agb | cqc | gmc | company_number | vat | ...; or unknown:
  a "registration number" with no register named before it), `number` (normalised: no spaces or dots),
  `valid_format` (bool: the number has the scheme's format, e.g. GPhC 7 digits with premises 1..., pharmacist
  2..., technician 5...; VAT by country prefix; null where the scheme has no fixed format), `jurisdiction`
  (GB, US, CA, DE, FR, NL, BE, ... or null), `authority` (e.g. "General Pharmaceutical Council", "Texas State
  Board of Pharmacy"), `context` (the words that named it, as written).
- `licence_claim`: a sentence claiming licensing, registration or approval ("licensed pharmacy", "FDA approved",
  "fully licensed and accredited", "zugelassene Apotheke", "pharmacie agréée", "erkende apotheek").
  value: the phrase as written. attrs: `has_number` (bool: a licence number is in the same block),
  `status` (asserted | negated | quoted | question | warning).
- `person`: a named pharmacist, superintendent, prescriber or doctor. value: the name.
  attrs: `role` (superintendent | pharmacist | prescriber | doctor), `name`, `title` (Dr, Mr... or null),
  `registration` (number as written or null), `number` (the same, normalised as in `licence`),
  `registration_scheme` (licence scheme or null),
  `valid_format` (the registration's, or null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import re2

from rxcheck import regex
from rxcheck.errors import RuleError
from rxcheck.facts import Fact
from rxcheck.facts._common import RE2_OPTIONS, evidence, fold, heading_context
from rxcheck.lexicon import Lexicon, Term
from rxcheck.parse import Located
from rxcheck.snapshot import Site

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

NUMBER = re.compile(
    r"(?:[A-Z]{1,4}[\s-]?)?\d(?:[\d.\-/]|\s(?=\d))*\d(?:[A-Z]{1,3}\d{0,2})?\b|\b\d\b"
)  # "GB 123 4567 89", "1-123456789", "NL123456789B01"
GAP_LIMIT = 40
SCHEME_REACH = 250  # "registration number 1234567" takes the register named up to this far before it
MIN_DIGITS = 3
SENTENCE_END = re.compile(r"[.!?]\s+[A-Z][a-z]{2,}")
DATE_OR_YEAR = re.compile(r"^(?:19|20)\d\d$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
LEFT = r"(?:^|[^\pL\pN_])"  # a name starts a word
ROLES = ("superintendent", "prescriber", "pharmacist", "doctor")  # lexicon lists role_<role>, first wins a tie
UPPER = "A-ZÀ-ÖØ-Þ"
LOWER = "a-zß-öø-ÿ"
NAME_WORD = rf"[{UPPER}][{LOWER}'’\-]+"
PERSON_REACH = 160  # a person's title and name follow the role word within this many characters


@dataclass(frozen=True)
class Scheme:
    """One register, from `rules/reference/licences.yaml`."""

    name: str
    authority: str
    jurisdiction: str | None = None
    named_authority: str | None = None
    personal: bool = True
    roles: dict[str, str] = field(default_factory=dict)
    formats: dict[str | None, Any] = field(default_factory=dict)  # by country (None: the scheme's own)
    prefixes: dict[str, str] = field(default_factory=dict)
    number_country: bool = False


@dataclass(frozen=True)
class NameSet:
    """The names of one scheme (for one country, where the scheme spans several)."""

    scheme: Scheme
    country: str | None
    number_prefix: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Anchor:
    start: int
    end: int
    names: NameSet | None  # None: a word for "registration number" that names no register
    text: str  # as written
    place: str | None = None


class Registers:
    """The licence schemes of a pack, their names compiled into two RE2 programs: names on folded text, acronyms on
    the text as written. Each scheme's names are one group, so a hit says its scheme."""

    def __init__(self, table: Any, lexicon: Lexicon) -> None:
        schemes = (table or {}).get("schemes") if isinstance(table, dict) else None
        if not isinstance(schemes, dict):
            raise RuleError("reference/licences.yaml: expected `schemes:`, a mapping of scheme names to schemes")
        self.sets: list[NameSet] = []
        names: list[str] = []
        acronyms: list[str] = []
        for key, spec in schemes.items():
            for name_set, folded, written in _name_sets(str(key), spec):
                i = len(self.sets)
                self.sets.append(name_set)
                if folded:
                    names.append(f"(?P<s{i}>{folded.replace('(?P<@', f'(?P<p{i}_')})")
                if written:
                    acronyms.append(f"(?P<a{i}>{written})")
        by_names = _program(f"{LEFT}(?:{'|'.join(names)})" if names else None)
        by_acronyms = _program(rf"\b(?:{'|'.join(acronyms)})\b" if acronyms else None)
        self.programs = [
            (program, _groups(program, prefix), on_folded)
            for program, prefix, on_folded in ((by_names, "s", True), (by_acronyms, "a", False))
            if program is not None
        ]
        index = by_names.groupindex if by_names is not None else {}
        self.places = {
            i: [idx for name, idx in index.items() if name.startswith(f"p{i}_")] for i in range(len(self.sets))
        }
        self.generic = _program(f"{LEFT}(?P<g>{lexicon.alternation('licence_number_word', folded=True)})")
        lead, label = lexicon.alternation("number_label_lead"), lexicon.alternation("number_label")
        self.label = _program(rf"[^\pL\pN_\n]*(?:\b(?:(?i:{lead})\s+)?(?:{label})\b[.:#°\s]*)+")

    def anchors(self, text: str) -> list[Anchor]:
        """Every name of a register and every word for "registration number" in a text, by start."""
        folded = fold(text)
        found: list[Anchor] = []
        for program, groups, on_folded in self.programs:
            for m in program.finditer(folded if on_folded else text):
                i, (start, end) = next((i, m.span(idx)) for i, idx in groups if m.span(idx)[0] >= 0)
                if on_folded and _runs_on(folded, end):
                    continue
                place = next((text[slice(*m.span(idx))] for idx in self.places.get(i, ()) if m.span(idx)[0] >= 0), None)
                found.append(Anchor(start, end, self.sets[i], text[start:end], place))
        generic = self.generic.groupindex["g"]
        for m in self.generic.finditer(folded):
            start, end = m.span(generic)
            if not _runs_on(folded, end):
                found.append(Anchor(start, end, None, text[start:end]))
        found.sort(key=lambda a: (a.start, -a.end))
        return found


def _groups(program: Any, prefix: str) -> list[tuple[int, int]]:
    """(name set, group index) of each set's group in a program."""
    if program is None:
        return []
    return [(int(name[1:]), idx) for name, idx in program.groupindex.items() if name[0] == prefix]


def _runs_on(text: str, end: int) -> bool:
    """Whether a match that ends in a letter or digit is cut from a longer word ("license" in "licensed")."""
    return 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum()


def _program(pattern: str | None) -> Any:
    if pattern is None:
        return None
    try:
        return regex.compile(pattern, RE2_OPTIONS)
    except re2.error as exc:
        raise RuleError(f"reference/licences.yaml or lexicon: invalid pattern: {exc}") from None


def _name_sets(key: str, spec: Any) -> Iterable[tuple[NameSet, str, str]]:
    """(names, folded pattern, as-written pattern) of one scheme: one set, or one per country."""
    if not isinstance(spec, dict) or not isinstance(spec.get("authority"), str):
        raise RuleError(f"reference/licences.yaml: scheme {key!r}: expected a mapping with an `authority`")
    countries = spec.get("countries") or {}
    if not isinstance(countries, dict):
        raise RuleError(f"reference/licences.yaml: scheme {key!r}: `countries` maps country codes to names")
    formats = {None: _format(key, spec.get("format"))} if spec.get("format") else {}
    formats.update({str(c): _format(key, v.get("format")) for c, v in countries.items() if v and v.get("format")})
    scheme = Scheme(
        name=key,
        authority=spec["authority"],
        jurisdiction=spec.get("jurisdiction"),
        named_authority=spec.get("named_authority"),
        personal=bool(spec.get("personal", True)),
        roles={str(k): str(v) for k, v in (spec.get("roles") or {}).items()},
        formats=formats,
        prefixes={str(c): str(v["prefix"]) for c, v in countries.items() if v and v.get("prefix")},
        number_country=bool(spec.get("number_country")),
    )
    places = _places(key, spec.get("places") or [])
    parts = [(spec, scheme.jurisdiction)] + [(v or {}, str(c)) for c, v in countries.items()]
    for part, country in parts:
        folded = _names_pattern(key, part.get("names") or [], places)
        written = _acronyms_pattern(key, part.get("acronyms") or [])
        if folded or written:
            prefix = frozenset(str(a) for a in part.get("number_prefix") or [])
            yield NameSet(scheme, country, prefix), folded, written


def _format(key: str, pattern: Any) -> Any:
    try:
        return regex.compile(str(pattern), RE2_OPTIONS)
    except re2.error as exc:
        raise RuleError(f"reference/licences.yaml: scheme {key!r}: invalid format {pattern!r}: {exc}") from None


def _places(key: str, places: list) -> str:
    terms = [Term(str(p), "places") for p in places]
    return Lexicon({"places": terms}).alternation("places", folded=True) if terms else ""


def _names_pattern(key: str, names: list, places: str) -> str:
    """The names as one RE2 alternative on folded text, each "{place}" a group of its own."""
    terms = []
    for raw in names:
        if isinstance(raw, dict) and isinstance(raw.get("re"), str):
            terms.append(Term(raw["re"], "names", regex=True))
        elif isinstance(raw, str) and raw.strip():
            terms.append(Term(raw, "names"))
        else:
            raise RuleError(
                f'reference/licences.yaml: scheme {key!r}: a name is a phrase or {{re: "..."}}, not {raw!r}'
            )
    if not terms:
        return ""
    pattern = Lexicon({"names": terms}).alternation("names", folded=True)
    if "{place}" in pattern and not places:
        raise RuleError(f"reference/licences.yaml: scheme {key!r}: a name has {{place}} but the scheme no `places`")
    pieces = pattern.split("{place}")
    return pieces[0] + "".join(f"(?P<@{k}>{places}){piece}" for k, piece in enumerate(pieces[1:]))


def _acronyms_pattern(key: str, acronyms: list) -> str:
    parts = []
    for raw in acronyms:
        if isinstance(raw, dict) and isinstance(raw.get("re"), str):
            parts.append(raw["re"])
        elif isinstance(raw, str) and raw.strip():
            parts.append(re2.escape(raw.strip()))
        else:
            raise RuleError(
                f"reference/licences.yaml: scheme {key!r}: an acronym is a word or {{re: ...}}, not {raw!r}"
            )
    return "|".join(f"(?:{p})" for p in sorted(parts, key=len, reverse=True))


def registers_of(pack: RulePack) -> Registers:
    return pack.compiled("licence_registers", lambda p: Registers(p.reference.get("licences"), p.lexicon))


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    people = pack.compiled("licence_people", People)
    licences: dict[tuple[str, str], Fact] = {}
    persons: dict[tuple[str, str], Fact] = {}
    claims: dict[tuple[str, str], Fact] = {}
    for page in site.html_pages():
        context = heading_context(page)
        for i, block in enumerate(page.blocks):
            text = block.text
            found = find_licences(text, pack)
            for start, end, attrs in found:
                key = (attrs["scheme"], attrs["jurisdiction"], attrs["number"])
                if key not in licences:
                    licences[key] = Fact("licence", text[start:end], attrs, evidence(page, text, block, start, end))
            for person in people.find(text):
                fact = _person(person, found, pack, page, text, block)
                if fact is not None:
                    persons.setdefault((fact.attrs["role"], fact.value), fact)
            for hit in pack.lexicon.matcher("licence_claim").finditer(text):
                claim = text[hit.start : hit.end]
                key = (claim.lower(), text)
                if key in claims:
                    continue
                attrs = {"has_number": bool(found), "status": cue.status(text, hit.start, hit.end, context[i])}
                claims[key] = Fact("licence_claim", claim, attrs, evidence(page, text, block, hit.start, hit.end))
    return [*licences.values(), *persons.values(), *claims.values()]


def find_licences(text: str, pack: RulePack) -> list[tuple[int, int, dict]]:
    """(start, end, attrs) of each licence number in a block."""
    registers = registers_of(pack)
    anchors = registers.anchors(text)
    found: list[tuple[int, int, dict]] = []
    for anchor in anchors:
        number = _number_after(text, anchor.end, pack, registers)
        if number is None or any(start < number.end() and number.start() < end for start, end, _ in found):
            continue
        if _other_register_between(anchor, number.start(), anchors):
            continue  # "COF Madrid. CIF: B12345678": the number is the nearer register's
        named = anchor if anchor.names is not None else _named_before(anchor.start, anchors)
        attrs = _classify(named, number.group(0), text[max(0, anchor.start - 60) : number.start()], pack.lexicon)
        attrs["context"] = anchor.text
        found.append((number.start(), number.end(), attrs))
    return found


def _street_after(pack: RulePack) -> regex.Pattern:
    """A street right after a number: the number is a house number, not a licence. Either a few words then a street
    type (`street_after_house_number`: "77 South High Street"), or a street word right after it, alone or ending
    a compound (`street_word_after_house_number`: "12 rue de la Paix", "5 Hauptstraße")."""
    lex = pack.lexicon
    after_name = lex.alternation("street_after_house_number")
    word = lex.alternation("street_word_after_house_number")
    return regex.compile(rf"(?i)\s+(?:[a-z]+\s+){{0,3}}{after_name}\b|\s*(?:[a-zäöüß]*(?:{word}))\b", RE2_OPTIONS)


def _number_after(text: str, pos: int, pack: RulePack, registers: Registers) -> re.Match[str] | None:
    lexicon = pack.lexicon
    label = registers.label.match(text[pos : pos + GAP_LIMIT + 30])
    pos += label.end() if label else 0
    number = NUMBER.search(text, pos, pos + GAP_LIMIT + 30)
    if number is None or number.start() - pos > GAP_LIMIT:
        return None
    gap = text[pos : number.start()]
    phone = lexicon.matcher("phone_word").search(gap) or lexicon.matcher("fax_word").search(gap)
    if (
        phone
        or SENTENCE_END.search(gap)
        or lexicon.matcher("time_word").closing(gap, lambda tail: not tail.strip())
        or "\n" in gap
    ):
        return None
    if DATE_OR_YEAR.match(number.group(0)) or len(re.sub(r"\D", "", number.group(0))) < MIN_DIGITS:
        return None
    if pack.compiled("licence_street_after", _street_after).match(text[number.end() : number.end() + 80]):
        return None  # "Board of Pharmacy, 77 South High Street"
    if re.match(r"\s*(?:mg|ml|%|[€$£])", text[number.end() : number.end() + 4], re.I):
        return None
    return number


def _other_register_between(anchor: Anchor, pos: int, anchors: list[Anchor]) -> bool:
    """Whether another register than the anchor's is named between the anchor and a number at `pos`, or opens the
    number ("NIF 73018442C", where the number's letters are the register's acronym)."""
    if anchor.names is None:
        return False
    scheme = anchor.names.scheme
    return any(
        other.names is not None and other.names.scheme is not scheme and anchor.end <= other.start <= pos
        for other in anchors
    )


def _named_before(pos: int, anchors: list[Anchor]) -> Anchor | None:
    """The register named last before `pos`, up to SCHEME_REACH before it."""
    best = None
    for anchor in anchors:
        if anchor.names is not None and pos - SCHEME_REACH <= anchor.start < pos:
            best = anchor
    return best


def _classify(anchor: Anchor | None, raw: str, before: str, lexicon: Lexicon) -> dict:
    number = re.sub(r"[\s./]", "", raw)
    if anchor is None or anchor.names is None:
        return {"scheme": "unknown", "number": number, "valid_format": None, "jurisdiction": None, "authority": None}
    scheme, country = anchor.names.scheme, anchor.names.country
    name, candidate = scheme.name, number.upper()
    if scheme.number_country:  # a VAT number: its own country prefix, else the named country's
        if candidate[:2] in scheme.formats:
            country = candidate[:2]
        else:
            candidate = scheme.prefixes.get(country or "", country or "") + candidate
    elif anchor.text in anchor.names.number_prefix:  # "HRB 12345"
        candidate = anchor.text.upper() + candidate
    pattern = scheme.formats.get(country) if country in scheme.formats else scheme.formats.get(None)
    valid = (
        None if pattern is None else bool(pattern.fullmatch(candidate) or pattern.fullmatch(candidate.replace("-", "")))
    )
    if scheme.roles:
        by_number = scheme.roles.get(number[:1]) if valid else None
        role = _role_before(scheme, before, lexicon) or by_number
        name = f"{scheme.name}_{role or 'unknown'}"
        valid = bool(valid and role is not None and by_number == role)
    authority = scheme.authority
    if scheme.named_authority and (anchor.place or "{place}" not in scheme.named_authority):
        authority = scheme.named_authority.replace("{place}", anchor.place or "").replace("{name}", anchor.text)
    return {"scheme": name, "number": number, "valid_format": valid, "jurisdiction": country, "authority": authority}


def _role_before(scheme: Scheme, before: str, lexicon: Lexicon) -> str | None:
    """What the words before a number say it registers ("premises", "superintendent"), from `<scheme>_role_<role>`."""
    roles = lexicon.first_hits([(role, f"{scheme.name}_role_{role}") for role in dict.fromkeys(scheme.roles.values())],
                               before)  # fmt: skip
    return roles[-1][0] if roles else None


@dataclass(frozen=True)
class Named:
    """A role word (or a doctor's title) and the name after it."""

    role: str
    start: int
    end: int
    name: str
    title: str | None
    sep: str
    by_title: bool  # "Dr John Smith" without a role word


class People:
    """Named pharmacists and doctors: a role word (lexicon `role_<role>`), then a title (`person_title`,
    `pharmacist_title`) and a capitalised name (with `surname_particle`s); or a doctor's title (`doctor_title`)
    and a name."""

    def __init__(self, pack: RulePack) -> None:
        lex = pack.lexicon
        self.lexicon = lex
        particle = lex.alternation("surname_particle")
        initial = rf"(?:\s+[{UPPER}]\.)?"  # "Alicia R. Moreno"
        name = rf"{NAME_WORD}{initial}(?:\s+(?:(?:{particle})\s+)*{NAME_WORD}){{1,3}}"
        title = rf"(?:{lex.alternation('person_title')}|{lex.alternation('pharmacist_title')})\.?"
        self.after_role = regex.compile(
            rf"^(?P<sep>\s*[:\-–,]\s*|\s+(?i:{lex.alternation('person_is')})\s+|\s+)(?P<title>{title}\s+)?"
            rf"(?P<name>{name})",
            RE2_OPTIONS,
        )
        self.doctor = regex.compile(
            rf"\b(?P<dr>(?:{lex.alternation('doctor_title')})\.?)\s+(?P<name>{name})", RE2_OPTIONS
        )
        self.roles = [(role, f"role_{role}") for role in ROLES]
        # a name, then the letters of a profession after it ("Alicia R. Moreno, MD", "Brian K. Osei, RPh")
        self.credentials = [
            (role, pattern)
            for role in ROLES
            if not lex.missing([f"credential_{role}"])
            for pattern in [regex.compile(rf"(?P<name>{name}),?\s+(?P<cred>{lex.alternation(f'credential_{role}')})"
                                        r"(?:$|[^\pL\pN])", RE2_OPTIONS)]
        ]  # fmt: skip

    def find(self, text: str) -> list[Named]:
        """Left to right, never overlapping; a role word before a doctor's title at the same place."""
        found: list[Named] = []
        g = self.after_role.groupindex  # group numbers, which `span` needs
        for role, hit in self.lexicon.first_hits(self.roles, text):
            m = self.after_role.match(text[hit.end : hit.end + PERSON_REACH])
            if m is not None:
                title = (m.group(g["title"]) or "").strip() or None
                end = hit.end + m.end()
                found.append(Named(role, hit.start, end, m.group(g["name"]), title, m.group(g["sep"]), False))
        name_group, dr_group = self.doctor.groupindex["name"], self.doctor.groupindex["dr"]
        for m in self.doctor.finditer(text):
            start, end = m.span(dr_group)[0], m.span(name_group)[1]
            found.append(Named("doctor", start, end, m.group(name_group), m.group(dr_group), "", True))
        for role, pattern in self.credentials:
            name_group, cred_group = pattern.groupindex["name"], pattern.groupindex["cred"]
            for m in pattern.finditer(text):
                start, end = m.span(name_group)[0], m.span(cred_group)[1]
                found.append(Named(role, start, end, m.group(name_group), m.group(cred_group), "", True))
        found.sort(key=lambda n: (n.start, n.by_title))
        kept: list[Named] = []
        for named in found:
            if not kept or named.start >= kept[-1].end:
                kept.append(named)
        return kept


def _person(named: Named, licences: list, pack: RulePack, page, text: str, where: Located) -> Fact | None:
    lex = pack.lexicon
    not_name = lex.matcher("not_a_name_word")
    words = named.name.split()
    while words and not_name.whole(words[-1]):
        words.pop()
    if len(words) < 2 or any(not_name.whole(w) for w in words):
        return None
    name, role, title = " ".join(words), named.role, named.title
    if title and not named.by_title and lex.matcher("pharmacist_title").whole(title.rstrip(".")):
        role = "pharmacist" if role == "doctor" else role
    registers = registers_of(pack)
    registration = next(
        (lic for lic in licences if named.end <= lic[0] <= named.end + 80 and _personal(registers, lic[2]["scheme"])),
        None,
    )
    if not (named.by_title or title or registration or named.sep.strip()):
        return None  # "Pharmacist Approved Treatments": a heading, not a name
    attrs = {
        "role": role,
        "name": name,
        "title": title,
        "registration": text[registration[0] : registration[1]] if registration else None,
        "number": registration[2]["number"] if registration else None,
        "registration_scheme": registration[2]["scheme"] if registration else None,
        "valid_format": registration[2]["valid_format"] if registration else None,
    }
    return Fact("person", name, attrs, evidence(page, text, where, named.start, named.end))


def _personal(registers: Registers, scheme: str) -> bool:
    """Whether a licence fact's scheme may register a person ("gphc_pharmacist" is the gphc scheme's; "unknown" may)."""
    return not any(
        not s.scheme.personal and (scheme == s.scheme.name or scheme.startswith(f"{s.scheme.name}_"))
        for s in registers.sets
    )
