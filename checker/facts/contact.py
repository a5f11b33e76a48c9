"""Contact details: postal addresses, phone numbers, email addresses and companies.

Fact kinds:

- `address`: a postal address (a street or PO box with a postcode, or a postcode format specific enough alone: GB,
  US state + ZIP, CA province + A1A 1A1, NL 1234 AB; JSON-LD PostalAddress counts too). value: the address text.
  attrs: `country` (ISO code or null when it cannot be told), `postcode`, `po_box` (bool), `via` (text | json_ld).
- `phone`: value: the number as written. attrs: `country` (ISO code from the prefix or format; null when it does
  not tell, e.g. North American toll-free 1-800 numbers, shared by the US and Canada),
  `international` (bool: written with +/00), `toll_free` (bool), `fax` (bool), `via` (text | link).
- `email`: value: the address. attrs: `domain`, `free_mail` (bool: gmail, outlook, yahoo, proton, mail.ru...),
  `same_site` (bool: the email's registrable domain is the site's own).
- `company`: a company name with its legal form. value: the name as written. attrs: `name`, `legal_form`
  (Ltd, LLC, GmbH, B.V., SARL...), `country_hint` (country the legal form belongs to, or null),
  `registration` (company number in the same block, or null), `registration_valid` (bool or null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from rxcheck import regex
from rxcheck.facts import Fact
from rxcheck.facts._common import RE2_OPTIONS as OPTIONS
from rxcheck.facts._common import evidence
from rxcheck.facts.domain import site_domains
from rxcheck.facts.licences import find_licences
from rxcheck.language import fold
from rxcheck.lexicon import Hit, Term, TermMatcher
from rxcheck.parse import Located
from rxcheck.result import Evidence
from rxcheck.snapshot import Page, Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

CCTLD_COUNTRY = {"uk": "GB", "gb": "GB", "us": "US", "ca": "CA", "de": "DE", "nl": "NL", "fr": "FR", "be": "BE",
                 "at": "AT", "ch": "CH", "ie": "IE", "es": "ES", "it": "IT", "lu": "LU", "in": "IN"}  # fmt: skip

US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|"
    "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
CA_POSTCODE = r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"
POSTCODES = [  # (country, pattern, needs a street before it)
    ("GB", re.compile(r"(?<=[A-Za-z,] )(?P<pc>(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2})\b"), False),
    ("US", re.compile(rf"\b(?:{US_STATES})\.?,?\s+(?P<pc>\d{{5}}(?:-\d{{4}})?)\b"), False),
    ("CA", re.compile(rf"\b(?:(?:{PROVINCES}),?\s+)?(?P<pc>{CA_POSTCODE})\b"), False),
    ("NL", re.compile(r"\b(?P<pc>[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2})(?=\s+[A-Z][a-z])"), False),
    ("IE", re.compile(r"\b(?P<pc>[AC-FHKNPRTV-Y]\d[\dW] ?[AC-FHKNPRTV-Y\d]{4})\b"), True),  # Eircode
    (None, re.compile(r"\b(?:(?P<cc>D|A|CH|F|B|L|NL)[-‑ ])?(?P<pc>\d{4,5})\s+(?=[A-ZÄÖÜÉÈ][\w\-]+)"), True),
]
CC_PREFIX = {"D": "DE", "A": "AT", "CH": "CH", "F": "FR", "B": "BE", "L": "LU", "NL": "NL"}
STREET_WINDOW = 150
DIGIT = re.compile(r"\d")

PHONE_PATTERNS = [
    re.compile(r"(?<![\w+])(?:\+|00)(?P<cc>\d{1,3})[\s.\-/]?(?:\(0\)\s?)?\(?\d{1,4}\)?(?:[\s.\-/]?\d{2,4}){2,5}(?!\d)"),
    re.compile(r"(?<![\w+/.-])(?:1[\s.\-])?\(?(?P<area>[2-9]\d{2})\)?[\s.\-]\d{3}[\s.\-]\d{4}(?!\d|[.\-/]\d)"),
    re.compile(r"(?<![\w+/.-])0\d{1,4}(?:[\s.\-/]?\d{2,4}){2,5}(?!\d|[.\-/]\d)"),  # national: only with a phone word
]
CALLING_CODES = {
    "1": "US", "7": "RU", "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR", "34": "ES",
    "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK", "46": "SE", "47": "NO",
    "48": "PL", "49": "DE", "52": "MX", "60": "MY", "61": "AU", "63": "PH", "64": "NZ", "65": "SG", "66": "TH",
    "81": "JP", "86": "CN", "90": "TR", "91": "IN", "92": "PK", "351": "PT", "352": "LU", "353": "IE", "356": "MT",
    "357": "CY", "358": "FI", "359": "BG", "380": "UA", "420": "CZ", "501": "BZ", "507": "PA", "230": "MU",
    "852": "HK", "880": "BD", "971": "AE",
}  # fmt: skip
CANADIAN_AREA_CODES = {
    "204",
    "226",
    "236",
    "249",
    "250",
    "263",
    "289",
    "306",
    "343",
    "354",
    "365",
    "367",
    "368",
    "382",
    "403",
    "416",
    "418",
    "428",
    "431",
    "437",
    "438",
    "450",
    "468",
    "474",
    "506",
    "514",
    "519",
    "548",
    "579",
    "581",
    "584",
    "587",
    "604",
    "613",
    "639",
    "647",
    "672",
    "683",
    "705",
    "709",
    "742",
    "753",
    "778",
    "780",
    "782",
    "807",
    "819",
    "825",
    "867",
    "873",
    "879",
    "902",
    "905",
}
TOLL_FREE = re.compile(
    r"^(?:(?:1)?8(?:00|33|44|55|66|77|88)|44800|44808|0800|0808|49800|33800|33805|31800|32800|353180|3531800|1800)"
)


PHONE_WORD_REACH = 20  # a phone word at most this far before the number, with no digit between
WORD = r"[\pL\pN_&'’\-]+(?:\.[\pL\pN_&'’\-]+)*"  # inner dots only: "Ltd." ends a name, "pharma.com" does not


@dataclass(frozen=True)
class LegalForm:
    group: str
    country: str | None
    pattern: regex.Pattern  # its written forms, whole


@dataclass(frozen=True)
class FreeMail:
    domains: frozenset[str]
    names: frozenset[str]  # first labels of providers with many country domains


@dataclass(frozen=True)
class Patterns:
    """The contact extractor's patterns over one pack's lexicon and reference data, compiled once per pack."""

    countries: TermMatcher
    country_of: dict[str, str]  # a country name as written in countries.yaml -> its ISO code
    street: regex.Pattern
    street_language: list[tuple[str, regex.Pattern]]
    po_box: regex.Pattern
    phone_word: TermMatcher
    fax_word: TermMatcher
    company: regex.Pattern
    legal_forms: list[LegalForm]
    lead_words: TermMatcher
    not_after_form: TermMatcher
    free_mail: FreeMail
    email: regex.Pattern  # an address, also written "name [at] shop (dot) com" with the lexicon's words
    disguised_at: regex.Pattern
    disguised_dot: regex.Pattern
    pack: RulePack  # for the licence numbers next to a company


def _patterns(pack: RulePack) -> Patterns:
    lex = pack.lexicon
    free = pack.reference.get("free_mail") or {}
    table = pack.reference.get("countries") or {}
    country_of = {str(name): str(code) for code, names in table.items() for name in names}
    word = r"[\pL\pN_'.\-]"
    # up to five capitalised words, with the particles of names between them ("Calle de Alcalá", "Via dei Mille")
    street_word = r"\p{Lu}[\pL\pN_'\-]*"
    particle = rf"(?:{lex.alternation('name_particle')}\s+)*"
    street_name = rf"{particle}{street_word}(?:\s+{particle}{street_word}){{0,4}}"
    street = (
        rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z]{word}*\s+){{0,4}}{lex.alternation('street_type_after_name')}\b\.?"
        rf"|\b{lex.alternation('address_unit')}\s+[\pL\pN_]+"
        rf"|(?:\b[A-Z]|[ÄÖÜ])[\pL\pN_\-]*{lex.alternation('street_suffix')}\s+\d{{1,4}}\s?[a-zA-Z]?\b"
        rf"|(?:\b[A-Z]|[ÄÖÜ])[\pL\pN_\-]*\s{lex.alternation('street_type_before_number')}\s+\d{{1,4}}\s?[a-zA-Z]?\b"
        rf"|\b{lex.alternation('street_prefix')}\s+{street_name},?\s+(?:{lex.alternation('house_number_word')}\s*)?"
        rf"\d{{1,4}}[a-z]?\b"
        rf"|\b\d{{1,4}}(?:\s?{lex.alternation('house_number_suffix')})?,?\s+"
        rf"(?i:{lex.alternation('street_type_after_number')})(?:$|[^\pL\pN_])"
    )
    street_lists = ("street_suffix", "street_type_before_number", "street_prefix", "street_type_after_number")
    street_language = [
        (language, regex.compile("(?i)" + "|".join(lex.alternation(name, language) for name in street_lists), OPTIONS))
        for language in sorted({lang for name in street_lists for lang in lex.languages(name)})
    ]
    forms = [
        LegalForm(entry["group"], entry.get("country"), regex.compile("|".join(f"(?:{f})" for f in entry["forms"])))
        for entry in pack.reference.get("legal_forms") or []
    ]
    all_forms = "|".join(f"(?:{f})" for entry in pack.reference.get("legal_forms") or [] for f in entry["forms"])
    name_word = rf"(?:[\p{{Lu}}0-9]{WORD}|\p{{Lu}}|&|{lex.alternation('name_particle')})"
    company = rf"(?P<name>(?:{name_word}\s+){{0,5}}\p{{Lu}}{WORD}),?\s+(?P<form>{all_forms})"
    at = rf"\s?[\[(](?i:{lex.alternation('email_at_word')})[\])]\s?"
    dot = rf"\s?[\[(](?i:{lex.alternation('email_dot_word')})[\])]\s?"
    email = rf"(?i)\b[\w.+\-]+(?:@|{at})[a-z0-9\-]+(?:(?:\.|{dot})[a-z0-9\-]+)*(?:\.|{dot})[a-z]{{2,}}\b"
    return Patterns(
        countries=TermMatcher("countries", [Term(name, "") for name in country_of]),
        country_of={_folded(name): code for name, code in country_of.items()},
        street=regex.compile(street, OPTIONS),
        street_language=street_language,
        po_box=regex.compile(rf"(?i)\b{lex.alternation('po_box')}\s*\d+", OPTIONS),
        phone_word=lex.matcher("phone_word"),
        fax_word=lex.matcher("fax_word"),
        company=regex.compile(company, OPTIONS),
        legal_forms=forms,
        lead_words=lex.matcher("company_lead_word"),
        not_after_form=lex.matcher("not_after_legal_form"),
        pack=pack,
        free_mail=FreeMail(frozenset(free.get("domains", [])), frozenset(free.get("names", []))),
        email=regex.compile(email, OPTIONS),
        disguised_at=regex.compile(at, OPTIONS),
        disguised_dot=regex.compile(dot, OPTIONS),
    )


def _folded(name: str) -> str:
    return " ".join(fold(name).split())


def _country_code(p: Patterns, hit: Hit) -> str:
    return p.country_of[_folded(hit.term)]


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    p: Patterns = pack.compiled("contact", _patterns)
    domains = site_domains(site)
    hint = CCTLD_COUNTRY.get(registrable_domain(site.start_url).rsplit(".", 1)[-1])
    facts: dict[tuple, Fact] = {}
    read: set[tuple[str, str]] = set()  # a header or footer repeated on every page gives its facts once
    for page in site.html_pages():
        previous = ""
        for block in page.blocks:
            if (block.text, previous) in read:
                previous = block.text if len(block.text) <= 80 else ""
                continue
            read.add((block.text, previous))
            if DIGIT.search(block.text):  # every postcode and phone pattern needs a digit
                for key, fact in _addresses(p, page, block.text, block, previous, hint):
                    facts.setdefault(key, fact)
                for key, fact in _phones(p, page, block.text, block, hint):
                    facts.setdefault(key, fact)
            for key, fact in _emails(p, page, block.text, block, domains):
                facts.setdefault(key, fact)
            for key, fact in _companies(p, page, block.text, block):
                facts.setdefault(key, fact)
            previous = block.text if len(block.text) <= 80 else ""
        for link in page.links:
            if link.href.startswith("tel:"):
                number = unquote(link.href[4:]).strip()
                key, fact = _phone_fact(page, number, f"{link.text} ({number})", link, hint, "link")
                facts.setdefault(key, fact)
            elif link.href.startswith("mailto:"):
                address = unquote(link.href[7:]).split("?")[0].strip()
                if "@" in address:
                    key, fact = _email_fact(p.free_mail, page, address, f"{link.text} ({address})", link, domains)
                    facts.setdefault(key, fact)
        for item in _postal_addresses(page.doc.json_ld if page.doc else []):
            key, fact = _json_ld_address(p, page, item)
            facts.setdefault(key, fact)
    return list(facts.values())


# --- addresses ---


def _addresses(
    p: Patterns, page: Page, text: str, where: Located, previous: str, hint: str | None
) -> Iterator[tuple[tuple, Fact]]:
    taken: list[tuple[int, int]] = []
    for country, pattern, needs_street in POSTCODES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            window = max(0, m.start() - STREET_WINDOW)
            before = text[window : m.start()]
            street = _last(p.street, before) or _last(p.po_box, before)
            start, prefix = (window + street.start(), "") if street else (max(0, m.start() - 60), "")
            if street is None and previous and m.start() <= 5 and len(text) <= 80:  # street on the line above
                street = _last(p.street, previous) or _last(p.po_box, previous)
                if street:
                    start, prefix, before = 0, previous[street.start() :] + ", ", previous + " " + before
            after_word = next(p.countries.finditer(text[m.end() : m.end() + 60]), None)
            before_words = list(p.countries.finditer(before)) if country is None else []
            before_word = before_words[-1] if before_words else None
            if needs_street and street is None and after_word is None:
                continue
            taken.append(m.span())
            word = after_word or before_word
            code = _country(p, country, m, _country_code(p, word) if word else None, before, hint)
            end = m.end() + after_word.end if after_word else _city_end(text, m.end())
            value = (prefix + text[start:end]).strip(" ,")
            po_box = bool(p.po_box.search(value)) and not p.street.search(value)
            attrs = {"country": code, "postcode": m.group("pc"), "po_box": po_box, "via": "text"}
            yield (
                ("address", code, m.group("pc").replace(" ", "")),
                Fact("address", value, attrs, evidence(page, text, where, m.start(), m.end())),
            )


def _last(pattern: regex.Pattern, text: str) -> Any:
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - keep the last one
        pass
    return found


def _city_end(text: str, pos: int) -> int:
    m = re.match(r"\s*[A-ZÄÖÜÉÈ][\w\-]+(?:[ \-][A-ZÄÖÜÉÈ][\w\-]+)?", text[pos:])
    return pos + m.end() if m else pos


def _country(
    p: Patterns, country: str | None, m: re.Match[str], named: str | None, before: str, hint: str | None
) -> str | None:
    if named is not None:
        return named
    if country:
        return country
    cc = m.groupdict().get("cc")
    if cc:
        return CC_PREFIX[cc]
    language = next((lang for lang, pattern in p.street_language if pattern.search(before)), None)
    digits = len(m.group("pc"))
    if language == "de" and digits == 5:
        return "DE"
    if language == "fr" and digits == 5:
        return "FR"
    if language == "nl" and digits == 4:
        return "BE"
    return hint


def _postal_addresses(items: list[Any]) -> Iterator[dict]:
    for item in items:
        if isinstance(item, dict):
            kind = item.get("@type")
            if kind == "PostalAddress" or (isinstance(kind, list) and "PostalAddress" in kind):
                yield item
            for value in item.values():
                yield from _postal_addresses(value if isinstance(value, list) else [value])


def _json_ld_address(p: Patterns, page: Page, item: dict) -> tuple[tuple, Fact]:
    country = item.get("addressCountry")
    if isinstance(country, dict):
        country = country.get("name") or country.get("identifier")
    country = str(country or "").strip()
    word = next((hit for hit in p.countries.finditer(country) if (hit.start, hit.end) == (0, len(country))), None)
    code = _country_code(p, word) if word else (country.upper() if len(country) == 2 else None)
    parts = [
        item.get(k) for k in ("streetAddress", "postOfficeBoxNumber", "postalCode", "addressLocality", "addressRegion")
    ]
    value = ", ".join(str(p) for p in parts if p)
    postcode = str(item.get("postalCode") or "")
    po_box = bool(item.get("postOfficeBoxNumber")) or bool(p.po_box.search(str(item.get("streetAddress") or "")))
    attrs = {"country": code, "postcode": postcode or None, "po_box": po_box, "via": "json_ld"}
    snippet = f"JSON-LD PostalAddress: {value}"[:300]
    return ("address", code, postcode.replace(" ", "")), Fact(
        "address",
        value,
        attrs,
        Evidence(url=page.final_url, snippet=snippet, locator="script[type='application/ld+json']"),
    )


# --- phones ---


def _phone_word(p: Patterns, before: str) -> Hit | None:
    """The phone (or fax) word that introduces a number: the last one before it, with no digit or + between."""
    hits = [hit for matcher in (p.phone_word, p.fax_word) for hit in matcher.finditer(before)]
    last = max(hits, key=lambda hit: hit.end, default=None)
    if last is None or len(before) - last.end > PHONE_WORD_REACH:
        return None
    return None if any(c.isdigit() or c == "+" for c in before[last.end :]) else last


def _phones(p: Patterns, page: Page, text: str, where: Located, hint: str | None) -> Iterator[tuple[tuple, Fact]]:
    taken: list[tuple[int, int]] = []
    for i, pattern in enumerate(PHONE_PATTERNS):
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            context = _phone_word(p, text[max(0, m.start() - 30) : m.start()])
            if i == 2 and context is None:
                continue
            if re.search(r"[$£€]\s*$", text[max(0, m.start() - 2) : m.start()]):
                continue
            digits = re.sub(r"\D", "", m.group(0))
            if not 7 <= len(digits) <= 15:
                continue
            taken.append(m.span())
            fax = bool(context and p.fax_word.search(context.term))
            key, fact = _phone_fact(page, m.group(0), text, where, hint, "text", m.span(), fax)
            yield key, fact


def _phone_fact(
    page: Page,
    number: str,
    text: str,
    where: Located,
    hint: str | None,
    via: str,
    span: tuple[int, int] | None = None,
    fax: bool = False,
) -> tuple[tuple, Fact]:
    digits = re.sub(r"\D", "", number)
    international = number.strip().startswith(("+", "00"))
    if international:
        digits = digits[2:] if number.strip().startswith("00") else digits
        code = next((digits[:n] for n in (3, 2, 1) if digits[:n] in CALLING_CODES), None)
        country = CALLING_CODES.get(code or "")
        national = digits[len(code or "") :]
        toll = bool(TOLL_FREE.match(digits))
        if country == "US":
            country = _nanp_country(national[:3], toll)
    elif len(digits) in (10, 11) and not digits.startswith("0"):
        national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
        toll = bool(TOLL_FREE.match("1" + national))
        country = _nanp_country(national[:3], toll)
    else:
        country = hint or ("GB" if len(digits) == 11 and digits[:2] in ("01", "02", "03", "07", "08") else None)
        toll = digits.startswith(("0800", "0808")) or (country == "FR" and digits.startswith("0805"))
    attrs = {"country": country, "international": international, "toll_free": toll, "fax": fax, "via": via}
    start, end = span or (0, len(text))
    return ("phone", digits[-9:]), Fact("phone", number.strip(), attrs, evidence(page, text, where, start, end))


def _nanp_country(area: str, toll_free: bool) -> str | None:
    """US or CA from a North American area code; None for toll-free numbers, which both countries share."""
    if toll_free:
        return None
    return "CA" if area in CANADIAN_AREA_CODES else "US"


# --- emails ---


def _emails(p: Patterns, page: Page, text: str, where: Located, domains: set[str]) -> Iterator[tuple[tuple, Fact]]:
    for m in p.email.finditer(text):
        address = p.disguised_dot.sub(".", p.disguised_at.sub("@", m.group(0)))
        if "@" in address:
            yield _email_fact(p.free_mail, page, address, text, where, domains, m.span())


def _email_fact(
    free_mail: FreeMail,
    page: Page,
    address: str,
    text: str,
    where: Located,
    domains: set[str],
    span: tuple[int, int] | None = None,
) -> tuple[tuple, Fact]:
    address = address.lower()
    domain = address.rsplit("@", 1)[1]
    registrable = registrable_domain(f"http://{domain}/")
    attrs = {
        "domain": domain,
        "free_mail": registrable in free_mail.domains or registrable.split(".", 1)[0] in free_mail.names,
        "same_site": registrable in domains,
    }
    start, end = span or (0, len(text))
    return ("email", address), Fact("email", address, attrs, evidence(page, text, where, start, end))


# --- companies ---


def _form_ends(p: Patterns, after: str) -> bool:
    """Whether a legal form ends where it was read: not inside a longer word or number, not "Limited time offer"."""
    if after[:1].isalnum() or after[:1] in ("_", ".", "-") or after.lstrip()[:1].isdigit():
        return False
    return not (after[:1].isspace() and p.not_after_form.opening(after[:40]))


def _companies(p: Patterns, page: Page, text: str, where: Located) -> Iterator[tuple[tuple, Fact]]:
    if not p.company.search(text):
        return
    numbers = [lic for lic in find_licences(text, p.pack) if lic[2]["scheme"] == "company_number"]
    for m in p.company.finditer(text):
        if not _form_ends(p, text[m.end() : m.end() + 60]):
            continue
        words = m.group("name").split()
        while words and (
            p.lead_words.whole(words[0]) or words[0].islower() or all(c.isdigit() or c in "©().,-&" for c in words[0])
        ):
            words.pop(0)
        if not words:
            continue
        form = m.group("form")
        legal = next(f for f in p.legal_forms if f.pattern.fullmatch(form))
        canonical, country = legal.group, legal.country
        name = " ".join(words)
        registration = next((n for n in numbers if n[0] >= m.end()), None)
        attrs = {
            "name": name,
            "legal_form": form,
            "legal_form_group": canonical,
            "country_hint": country,
            "registration": registration[2]["number"] if registration else None,
            "registration_valid": registration[2]["valid_format"] if registration else None,
        }
        value = f"{name} {form}"
        yield ("company", value.lower()), Fact("company", value, attrs, evidence(page, text, where, *m.span()))
