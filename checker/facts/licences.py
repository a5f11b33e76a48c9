"""Registration and licence numbers, claims of being licensed, and named pharmacists and prescribers.

Fact kinds:

- `licence`: a registration or licence number written next to the words that name it (one per scheme and number).
  value: the number as written. attrs: `scheme` (gphc_premises | gphc_pharmacist | gphc_technician | gphc_unknown |
  us_state_board | nabp | canada_college | de_apothekerkammer | fr_rpps | fr_ars | nl_big | nl_agb | cqc | gmc |
  company_number | vat | unknown), `number` (normalised: no spaces or dots), `valid_format` (bool by the scheme's
  rules: GPhC 7 digits with premises 1..., pharmacist 2..., technician 5...; RPPS 11 digits; BIG 11 digits;
  AGB 8 digits; GMC 7 digits; CQC 1-123456789; UK company 8 digits or 2 letters + 6 digits; KvK 8 digits;
  HRA/HRB + digits; SIREN 9 / SIRET 14 digits; BE enterprise 10 digits; VAT by country prefix; US state board
  letters+digits, 4-12; Canada college digits; null where the scheme has no fixed format: nabp,
  de_apothekerkammer, fr_ars, unknown), `jurisdiction` (GB, US, CA, DE, FR, NL, BE, ... or null),
  `authority` (e.g. "General Pharmaceutical Council", "Texas State Board of Pharmacy"), `context` (the words that
  named it, as written).
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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import re2

from checker.facts import Fact
from checker.facts._common import RE2_OPTIONS, evidence, heading_context
from checker.lexicon import Lexicon
from checker.snapshot import Site

if TYPE_CHECKING:
    from checker.engine.loader import RulePack

US_STATES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|"
    "Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|"
    "Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|"
    "Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
    "West Virginia|Wisconsin|Wyoming|District of Columbia"
)
PROVINCES = (
    "Ontario|Alberta|British Columbia|Manitoba|Saskatchewan|Nova Scotia|New Brunswick|Newfoundland and Labrador|"
    "Prince Edward Island|Yukon|Northwest Territories|Nunavut"
)


@dataclass(frozen=True)
class Scheme:
    name: str
    anchor: re.Pattern[str]
    jurisdiction: str | None
    authority: str


def _scheme(name: str, pattern: str, jurisdiction: str | None, authority: str) -> Scheme:
    return Scheme(name, re.compile(pattern), jurisdiction, authority)


# Words that name a register, most specific first. `(?i:...)` = case-insensitive; acronyms are matched as written.
SCHEMES = [
    _scheme("gphc", r"\bGPhC\b|(?i:general pharmaceutical council|pharmacyregulation\.org)", "GB",
            "General Pharmaceutical Council"),
    _scheme("us_state_board", rf"\b(?:(?P<state>{US_STATES})\s+)?(?i:state\s+)?(?i:board\s+of\s+pharmacy)"
            rf"|\b(?P<state2>{US_STATES})\s+(?i:(?:pharmacy|pharmacist)\s+)?(?i:licen[cs]e)\b", "US",
            "State Board of Pharmacy"),
    _scheme("canada_college", rf"(?:(?P<prov>{PROVINCES})\s+)?(?i:college\s+of\s+pharmacists)(?:\s+of\s+(?P<prov2>"
            rf"{PROVINCES}))?|(?i:ordre\s+des\s+pharmaciens\s+du\s+qu[ée]bec)|\b(?:CPBC|OCP|ACP|SCPP|NAPRA|OPQ)\b",
            "CA", "College of Pharmacists"),
    _scheme("nabp", r"\bNABP\b", "US", "National Association of Boards of Pharmacy"),
    _scheme("de_apothekerkammer", r"(?P<chamber>\b(?:Landes)?[Aa]pothekerkammer(?:\s+(?!Nr|Mitglied)[A-ZÄÖÜ][\w\-]+)?)",
            "DE", "Apothekerkammer"),
    _scheme("fr_rpps", r"\bRPPS\b", "FR", "Répertoire partagé des professionnels de santé"),
    _scheme("fr_ars", r"\bARS\b|(?i:agence\s+r[ée]gionale\s+de\s+sant[ée])", "FR", "Agence régionale de santé"),
    _scheme("nl_big", r"\bBIG(?:[\s-]?(?i:nummer|nr\.?|registratie|register|code))?\b", "NL", "BIG-register"),
    _scheme("nl_agb", r"\bAGB(?:[\s-]?(?i:code))?\b", "NL", "AGB-register (Vektis)"),
    _scheme("cqc", r"\bCQC\b|(?i:care\s+quality\s+commission)", "GB", "Care Quality Commission"),
    _scheme("gmc", r"\bGMC\b|(?i:general\s+medical\s+council)", "GB", "General Medical Council"),
    _scheme("vat", r"\bVAT\b|(?i:USt\.?-?Id(?:Nr)?\.?|Umsatzsteuer-?Id\w*|\bBTW\b|\bTVA\b|\bMWST\b)", None, "VAT"),
    _scheme("company_number",
            r"(?i:company\s+(?:registration\s+)?(?:number|no\.?)|registered\s+in\s+(?:england|scotland|wales|northern"
            r"\s+ireland)(?:\s+and\s+wales)?|companies\s+house|handelsregister|registergericht|kamer\s+van\s+koophandel"
            r"|ondernemingsnummer|num[ée]ro\s+d'entreprise)|\bKvK\b|\bHR[AB]\b|\bRCS\b|\bSIRE[NT]\b|\bBCE\b|\bKBO\b|\bCRN\b",
            None, "Company register"),
]  # fmt: skip
GENERIC_ANCHOR = re.compile(
    r"(?i:registration\s+(?:number|no\.?|nr\.?|#)|reg\.?\s*(?:no|nr)\.?|licen[cs]e(?:\s+(?:number|no\.?|#|n°))?\b"
    r"|registrierungsnummer|zulassungsnummer|betriebserlaubnis|num[ée]ro\s+d'enregistrement|n°\s+d'autorisation"
    r"|registratienummer|vergunningsnummer|licentienummer)"
)
NUMBER = re.compile(
    r"(?:[A-Z]{1,4}[\s-]?)?\d(?:[\d.\-/]|\s(?=\d))*\d(?:[A-Z]{1,3}\d{0,2})?\b|\b\d\b"
)  # "GB 123 4567 89", "1-123456789", "NL123456789B01"
NUMBER_LABEL = re.compile(
    r"[^\w\n]*(?:\b(?:[Ll]ocation\s+|[Pp]rovider\s+)?(?:ID|No|NO|Nr|NR|Num|Reg|N°|n°)\b[.:#°\s]*)+"
)
GAP_LIMIT = 40
SCHEME_REACH = 250  # "registration number 1234567" takes the register named up to this far before it
MIN_DIGITS = 3
SENTENCE_END = re.compile(r"[.!?]\s+[A-Z][a-z]{2,}")
DATE_OR_YEAR = re.compile(r"^(?:19|20)\d\d$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
GPHC_ROLES = ("premises", "pharmacist", "technician")  # lexicon lists gphc_role_<role>
GPHC_PREFIX = {"1": "gphc_premises", "2": "gphc_pharmacist", "5": "gphc_technician"}

FORMATS: dict[str, re.Pattern[str]] = {
    "fr_rpps": re.compile(r"\d{11}"),
    "nl_big": re.compile(r"\d{11}"),
    "nl_agb": re.compile(r"\d{8}"),
    "gmc": re.compile(r"\d{7}"),
    "cqc": re.compile(r"1-\d{9,11}"),
    "us_state_board": re.compile(r"(?=.*\d)[A-Z0-9]{4,12}"),
    "canada_college": re.compile(r"\d{3,8}"),
}
COMPANY_FORMATS = {
    "GB": re.compile(r"\d{8}|(?:SC|NI|OC|SO|NC|LP|SL)\d{6}"),
    "DE": re.compile(r"HR[AB]\d{1,7}[A-Z]{0,2}"),
    "NL": re.compile(r"\d{8}"),
    "FR": re.compile(r"(?:[A-Z]{0,2})?(?:\d{9}|\d{14})"),
    "BE": re.compile(r"[01]\d{9}"),
}
VAT_FORMATS = {
    "GB": re.compile(r"GB(?:\d{9}|\d{12})"),
    "DE": re.compile(r"DE\d{9}"),
    "NL": re.compile(r"NL\d{9}B\d{2}"),
    "FR": re.compile(r"FR[0-9A-Z]{2}\d{9}"),
    "BE": re.compile(r"BE[01]\d{9}"),
    "AT": re.compile(r"ATU\d{8}"),
    "IE": re.compile(r"IE(?:\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z])"),
    "IT": re.compile(r"IT\d{11}"),
    "ES": re.compile(r"ES[A-Z0-9]\d{7}[A-Z0-9]"),
    "LU": re.compile(r"LU\d{8}"),
    "CH": re.compile(r"CHE\d{9}(?:MWST|TVA|IVA)?"),
}
VAT_DEFAULT_COUNTRY = {"vat": "GB", "ust": "DE", "umsatzsteuer": "DE", "btw": "NL", "tva": "FR", "mwst": "CH"}

NOT_PERSONAL = {"company_number", "vat", "cqc", "nabp", "de_apothekerkammer", "fr_ars", "nl_agb"}
UPPER = "A-ZÀ-ÖØ-Þ"
LOWER = "a-zß-öø-ÿ"
NAME_WORD = rf"[{UPPER}][{LOWER}'’\-]+"
NAME = rf"{NAME_WORD}(?:\s+(?:(?:van|von|de|der|den|la|le|du|ter|ten|te|di|da)\s+)*{NAME_WORD}){{1,3}}"
TITLE = r"(?:Dr|Mr|Mrs|Ms|Miss|Prof|Herr|Frau|M|Mme|Dhr|Mevr|Drs|Apotheker(?:in)?|Pharmacien(?:ne)?)\.?"
ROLE_WORDS = (
    ("superintendent", r"superintendent(?:\s+pharmacist)?|pharmacist[\s-]+in[\s-]+charge|responsible\s+pharmacist|"
                       r"pharmacy\s+manager|"
                       r"verantwortliche[rn]?\s+apotheker(?:in)?|apothekenleiter(?:in)?|inhaber(?:in)?|"
                       r"pharmacien(?:ne)?\s+(?:titulaire|responsable)|beherend\s+apotheker|verantwoordelijk\s+apotheker"),
    ("prescriber", r"(?:independent\s+)?prescriber|prescribing\s+(?:pharmacist|clinician|doctor|physician)|"
                   r"verschreibende[rn]?\s+[aä]rzt(?:in)?|m[ée]decin\s+prescripteur|voorschrijver"),
    ("pharmacist", r"pharmacist|apotheker(?:in)?|pharmacien(?:ne)?"),
    ("doctor", r"doctor|physician|gp|[aä]rzt(?:in)?|m[ée]decin|huisarts|arts"),
)  # fmt: skip
PERSON = re.compile(
    r"(?i:\b(?P<role>" + "|".join(f"(?P<{role}>{pattern})" for role, pattern in ROLE_WORDS) + r"))\b"
    rf"(?P<sep>\s*[:\-–,]\s*|\s+(?i:is|ist|est)\s+|\s+)(?P<title>{TITLE}\s+)?(?P<name>{NAME})"
    rf"|\b(?P<dr>Dr\.?)\s+(?P<drname>{NAME})"
)
NOT_NAMES = {
    "registration",
    "number",
    "council",
    "general",
    "pharmaceutical",
    "pharmacy",
    "contact",
    "email",
    "phone",
    "limited",
    "ltd",
    "street",
    "road",
    "the",
    "our",
    "we",
    "is",
    "name",
    "details",
    "information",
    "team",
    "online",
    "registered",
    "register",
    "service",
    "services",
    "apotheke",
    "pharmacie",
    "apotheek",
    "nummer",
    "numéro",
    "with",
    "and",
    "und",
    "et",
    "en",
    "of",
    "for",
    "medical",
    "quality",
    "care",
    "commission",
    "about",
    "us",
    "uk",
    "who",
    "gphc",
    "premises",
    "superintendent",
    "pharmacist",
    "prescriber",
    "doctor",
    "approved",
    "licensed",
    "clinic",
}


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
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
                    licences[key] = Fact(
                        "licence", text[start:end], attrs, evidence(page, text, block.locator, start, end)
                    )
            for m in PERSON.finditer(text):
                fact = _person(m, found, page, text, block.locator)
                if fact is not None:
                    persons.setdefault((fact.attrs["role"], fact.value), fact)
            for hit in pack.lexicon.matcher("licence_claim").finditer(text):
                claim = text[hit.start : hit.end]
                key = (claim.lower(), text)
                if key in claims:
                    continue
                attrs = {"has_number": bool(found), "status": cue.status(text, hit.start, hit.end, context[i])}
                claims[key] = Fact(
                    "licence_claim", claim, attrs, evidence(page, text, block.locator, hit.start, hit.end)
                )
    return [*licences.values(), *persons.values(), *claims.values()]


def find_licences(text: str, pack: RulePack) -> list[tuple[int, int, dict]]:
    """(start, end, attrs) of each licence number in a block."""
    anchors: list[tuple[int, int, Scheme | None, re.Match[str]]] = []
    for scheme in SCHEMES:
        anchors += [(m.start(), m.end(), scheme, m) for m in scheme.anchor.finditer(text)]
    anchors += [(m.start(), m.end(), None, m) for m in GENERIC_ANCHOR.finditer(text)]
    anchors.sort(key=lambda a: (a[0], -a[1]))
    found: list[tuple[int, int, dict]] = []
    for a_start, a_end, scheme, match in anchors:
        number = _number_after(text, a_end, pack)
        if number is None or any(start < number.end() and number.start() < end for start, end, _ in found):
            continue
        if scheme is None:  # "registration number 1234567": the scheme named last before it, if any
            scheme, match = _scheme_before(text, a_start, anchors)
        attrs = _classify(scheme, match, number.group(0), text[max(0, a_start - 60) : number.start()], pack.lexicon)
        if attrs is None:
            continue
        attrs["context"] = text[a_start:a_end]
        found.append((number.start(), number.end(), attrs))
    return found


def _street_after(pack: RulePack) -> re2._Regexp:
    """A street right after a number: the number is a house number, not a licence."""
    lex = pack.lexicon
    english = lex.alternation("street_after_house_number", "en")
    other = "|".join(lex.alternation("street_after_house_number", lang) for lang in ("de", "fr"))
    return re2.compile(rf"(?i)\s+(?:[a-z]+\s+){{0,3}}{english}\b|\s*(?:[a-zäöüß]*(?:{other}))\b", RE2_OPTIONS)


def _number_after(text: str, pos: int, pack: RulePack) -> re.Match[str] | None:
    lexicon = pack.lexicon
    label = NUMBER_LABEL.match(text, pos)
    pos = label.end() if label else pos
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


def _scheme_before(text: str, pos: int, anchors: list) -> tuple[Scheme | None, re.Match[str] | None]:
    best = None
    for a_start, _a_end, scheme, match in anchors:
        if scheme is not None and pos - SCHEME_REACH <= a_start < pos:
            best = (scheme, match)
    return best or (None, None)


def _classify(
    scheme: Scheme | None, anchor: re.Match[str] | None, raw: str, before: str, lexicon: Lexicon
) -> dict | None:
    number = re.sub(r"[\s./]", "", raw)
    name = scheme.name if scheme else "unknown"
    jurisdiction = scheme.jurisdiction if scheme else None
    authority = scheme.authority if scheme else None
    valid: bool | None = None
    if name == "gphc":
        name = _gphc_scheme(number, before, lexicon)
        valid = len(number) == 7 and number.isdigit() and GPHC_PREFIX.get(number[0]) == name
    elif name in FORMATS:
        plain = number.upper() if name == "cqc" else number.upper().replace("-", "")  # "02-1834567"
        valid = bool(FORMATS[name].fullmatch(plain))
    elif name == "company_number":
        jurisdiction = _company_country(anchor.group(0) if anchor else "")
        candidate = number.upper()
        if anchor is not None and anchor.group(0).upper() in ("HRA", "HRB"):
            candidate = anchor.group(0).upper() + candidate
        valid = bool(COMPANY_FORMATS[jurisdiction].fullmatch(candidate))
    elif name == "vat":
        upper = number.upper()
        prefix = "CHE" if upper.startswith("CHE") else upper[:2]
        if prefix in VAT_FORMATS or prefix == "CHE":
            country, candidate = ("CH" if prefix == "CHE" else prefix), upper
        else:
            word = (anchor.group(0) if anchor else "vat").lower()
            country = next((c for w, c in VAT_DEFAULT_COUNTRY.items() if word.startswith(w)), "GB")
            candidate = ("CHE" if country == "CH" else country) + upper
        jurisdiction = country
        valid = bool(VAT_FORMATS[country].fullmatch(candidate))
    state = anchor is not None and (anchor.groupdict().get("state") or anchor.groupdict().get("state2"))
    if name == "us_state_board" and state:
        authority = f"{state} State Board of Pharmacy"
    elif name == "canada_college" and anchor is not None or name == "de_apothekerkammer" and anchor is not None:
        authority = anchor.group(0)
    return {
        "scheme": name,
        "number": number,
        "valid_format": valid,
        "jurisdiction": jurisdiction,
        "authority": authority,
    }


def _gphc_scheme(number: str, before: str, lexicon: Lexicon) -> str:
    roles = lexicon.first_hits([(role, f"gphc_role_{role}") for role in GPHC_ROLES], before)
    if roles:
        return f"gphc_{roles[-1][0]}"
    return GPHC_PREFIX.get(number[:1], "gphc_unknown") if len(number) == 7 else "gphc_unknown"


def _company_country(anchor: str) -> str:
    word = anchor.lower()
    if any(w in word for w in ("handelsregister", "registergericht", "hra", "hrb")):
        return "DE"
    if any(w in word for w in ("kvk", "koophandel")):
        return "NL"
    if any(w in word for w in ("rcs", "siren", "siret")):
        return "FR"
    if any(w in word for w in ("bce", "kbo", "ondernemingsnummer", "entreprise")):
        return "BE"
    return "GB"


def _person(m: re.Match[str], licences: list, page, text: str, locator: str) -> Fact | None:
    if m.group("dr"):
        role, title, name = "doctor", m.group("dr"), m.group("drname")
    else:
        role = next(r for r, _ in ROLE_WORDS if m.group(r))
        title, name = (m.group("title") or "").strip() or None, m.group("name")
    words = name.split()
    while words and words[-1].lower() in NOT_NAMES:
        words.pop()
    if len(words) < 2 or any(w.lower() in NOT_NAMES for w in words):
        return None
    name = " ".join(words)
    if title and title.rstrip(".").lower() in ("apotheker", "apothekerin", "pharmacien", "pharmacienne"):
        role = "pharmacist" if role == "doctor" else role
    registration = next(
        (lic for lic in licences if m.end() <= lic[0] <= m.end() + 80 and lic[2]["scheme"] not in NOT_PERSONAL), None
    )
    if not (m.group("dr") or title or registration or (m.group("sep") or "").strip()):
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
    return Fact("person", name, attrs, evidence(page, text, locator, m.start(), m.end()))
