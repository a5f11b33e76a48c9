"""How the site takes money: payment methods, masked card descriptors, fees after ordering, insecure forms.

Fact kinds:

- `payment_method`: value one of card, visa, mastercard, amex, paypal, bank_transfer, wire_transfer, crypto,
  western_union, moneygram, p2p (Zelle, Cash App, Venmo, paysafecard), echeck, gift_card, cash_on_delivery,
  sepa, ideal, klarna, apple_pay, google_pay,
  invoice. attrs: `via` (text | image | form), `status` (asserted | negated | quoted | question | warning; images and
  forms are always asserted). One fact per method, via and status.
- `masked_descriptor`: a statement that the card charge shows another name ("the charge will appear on your
  statement as X", "billing descriptor"). value: the descriptor as written (or null when not given).
  attrs: `descriptor`, `mentions_site` (bool: the descriptor contains the site's domain name), `status`.
- `after_order_fee`: customs/clearance/import fees or duties mentioned. value: the phrase.
  attrs: `after_order` (bool: the same sentence says it is paid after ordering, on delivery, before release...),
  `status`.
- `insecure_form`: a form posting checkout, payment or personal data over http://, or such a page served over
  http://. value: the form action URL (or the page URL). attrs: `reason` (form_action_http | page_http),
  `action`, `data` (list: payment | personal | checkout), `fields` (list of sensitive field names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rxcheck import regex
from rxcheck.facts import Fact
from rxcheck.facts._common import RE2_OPTIONS as OPTIONS
from rxcheck.facts._common import evidence, fold, heading_context
from rxcheck.lexicon import Hit, Lexicon, TermMatcher, first_of
from rxcheck.parse import Form
from rxcheck.result import Evidence
from rxcheck.snapshot import Page, Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

MAX_LOGO_TEXT = 40
FEE_NEGATION_REACH = 20  # "no" at most this far before a fee
DESCRIPTOR_NAME = re.compile(r"\s*[\"“„'«]?\s*(?P<name>(?:[^\"”“'»\n.,;:!?()]|\.(?=\S)){2,60})")
DESCRIPTOR_REACH = 80


@dataclass(frozen=True)
class Patterns:
    """The payment extractor's patterns over one pack's lexicon and reference data, compiled once per pack."""

    methods: list[str]
    text_lists: list[tuple[str, str]]  # (method, lexicon list)
    exact_case: regex.Pattern | None  # names whose case matters (Visa, iDEAL), one named group per method
    image: regex.Pattern | None
    form_fields: dict[str, regex.Pattern]
    sensitive_fields: dict[str, regex.Pattern]
    checkout_path: regex.Pattern | None


def _patterns(pack: RulePack) -> Patterns:
    table = pack.reference.get("payment_methods") or {}
    methods = list(table.get("methods", []))
    exact = table.get("exact_case") or {}
    image = table.get("image") or {}
    nocase = "(?i)"
    fields, sensitive = table.get("form_fields") or {}, table.get("sensitive_fields") or {}
    return Patterns(
        methods=methods,
        text_lists=[(m, f"payment_{m}") for m in methods if pack.lexicon.has(f"payment_{m}")],
        exact_case=_named(r"\b(?:", exact, r")\b") if exact else None,
        image=_named(r"(?:^|[^a-z])(?:", {m: [p] for m, p in image.items()}, r")(?:$|[^a-z])") if image else None,
        form_fields={m: regex.compile(nocase + p, OPTIONS) for m, p in fields.items()},
        sensitive_fields={k: regex.compile(nocase + p, OPTIONS) for k, p in sensitive.items()},
        checkout_path=regex.compile(nocase + table["checkout_path"], OPTIONS) if table.get("checkout_path") else None,
    )


def _named(head: str, table: dict[str, list[str]], tail: str) -> regex.Pattern:
    alternatives = "|".join(f"(?P<{method}>{'|'.join(patterns)})" for method, patterns in table.items())
    return regex.compile(head + alternatives + tail, OPTIONS)


def _before_word(matcher: TermMatcher, after: str) -> bool:
    """Whether one space and a term of the list come next ("Visa" + " application")."""
    return after[:1] == " " and matcher.opening(after) is not None


def _spaces(tail: str) -> bool:
    return bool(tail) and not tail.strip()


def _methods_in(p: Patterns, lex: Lexicon, text: str) -> list[tuple[str, Hit]]:
    """Payment methods named in a text, left to right, never two for the same words (the first method on a tie)."""
    tagged = lex.tagged_hits(p.text_lists, text)
    if p.exact_case is not None:
        for m in p.exact_case.finditer(text):
            tagged.append((m.lastgroup, Hit(m.start(), m.end(), m.group(0), "")))
    not_visa = lex.matcher("not_after_visa")
    tagged = [
        (method, hit)
        for method, hit in tagged
        if method != "visa" or not _before_word(not_visa, text[hit.end : hit.end + 40])
    ]
    return first_of(tagged, p.methods)


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    lex = pack.lexicon
    p: Patterns = pack.compiled("payment", _patterns)
    descriptor_cue, fee = lex.matcher("statement_descriptor_cue"), lex.matcher("customs_fee")
    no_fee, after_order = lex.matcher("no_fee_before"), lex.matcher("after_order")
    generic_words = lex.matcher("generic_descriptor_word")
    facts: dict[tuple, Fact] = {}
    site_label = registrable_domain(site.start_url).split(".")[0].replace("-", "")
    read: set[tuple[str, bool]] = set()  # a block repeated on every page gives its facts once (its heading and
    for page in site.html_pages():  # page title matter to them only as warning or not)
        context = heading_context(page)
        for i, block in enumerate(page.blocks):
            text = block.text
            seen = (text, bool(cue.is_warning(context[i])))
            if seen in read:
                continue
            read.add(seen)
            for method, hit in _methods_in(p, lex, text):
                status = cue.status(text, hit.start, hit.end, context[i])
                attrs = {"via": "text", "status": status}
                key = ("payment_method", method, "text", status)
                if key not in facts:
                    facts[key] = Fact("payment_method", method, attrs, evidence(page, text, block, hit.start, hit.end))
            for hit in descriptor_cue.finditer(text):
                named = DESCRIPTOR_NAME.match(text[hit.end : hit.end + DESCRIPTOR_REACH])
                name = (named.group("name") if named else "").strip() or None
                end = hit.end + (named.end() if named else 0)
                attrs = {
                    "descriptor": name,
                    "mentions_site": _mentions(name, site_label, generic_words),
                    "status": cue.status(text, hit.start, end, context[i]),
                }
                facts.setdefault(
                    ("masked_descriptor", name),
                    Fact("masked_descriptor", name, attrs, evidence(page, text, block, hit.start, end)),
                )
            for hit in fee.finditer(text):
                start, end = _sentence(text, hit.start, hit.end)
                status = cue.status(text, hit.start, hit.end, context[i])
                if no_fee.closing(text[max(0, hit.start - FEE_NEGATION_REACH) : hit.start], _spaces):
                    status = "negated"  # "there are no customs charges"
                attrs = {"after_order": after_order.search(text[start:end]), "status": status}
                key = ("after_order_fee", text[start:end])
                phrase = text[hit.start : hit.end]
                facts.setdefault(
                    key, Fact("after_order_fee", phrase, attrs, evidence(page, text, block, hit.start, hit.end))
                )
        for key, fact in _images(p, lex, page):
            facts.setdefault(key, fact)
        for form in page.doc.forms if page.doc else []:
            for key, fact in _form_methods(p, page, form):
                facts.setdefault(key, fact)
            fact = _insecure_form(p, page, form)
            if fact is not None:
                facts.setdefault(("insecure_form", fact.value), fact)
        if page.final_url.startswith("http://") and _checkout(p, page.final_url):
            fact = Fact(
                "insecure_form",
                page.final_url,
                {"reason": "page_http", "action": None, "data": ["checkout"], "fields": []},
                Evidence(
                    url=page.final_url, snippet=f"checkout page served over http: {page.final_url}", locator="url"
                ),
            )
            facts.setdefault(("insecure_form", page.final_url), fact)
    return list(facts.values())


def _checkout(p: Patterns, url: str) -> bool:
    return bool(p.checkout_path and p.checkout_path.search(urlsplit(url).path))


def _mentions(descriptor: str | None, site_label: str, generic: TermMatcher) -> bool:
    """Whether a card descriptor names the site: a word of 4+ letters of it is in the domain's name."""
    words = re.findall(r"[a-z]{4,}", fold(descriptor or ""))
    return any(word in site_label for word in words if not generic.search(word))


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    hi = min((i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0), default=len(text))
    return lo + 1, hi


def _images(p: Patterns, lex: Lexicon, page: Page) -> Iterable[tuple[tuple, Fact]]:
    for image in page.images:
        name = urlsplit(image.src).path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        words = " ".join(w for w in (image.alt, image.title) if len(w) <= MAX_LOGO_TEXT)  # longer: a description
        label = fold(f"{words} {name}").replace("-", " ").replace("_", " ")
        found = {m.lastgroup for m in p.image.finditer(label)} if p.image else set()
        described = f"{image.alt} | {image.title}"
        if not lex.matcher("depiction_word").search(described):  # "We accept Visa...", not "Screenshot of a fake..."
            found |= {method for method, _ in _methods_in(p, lex, described)}
        for method in sorted(found):
            snippet = f"image “{image.alt or name}” ({image.src})"[:300]
            yield (
                ("payment_method", method, "image", "asserted"),
                Fact(
                    "payment_method",
                    method,
                    {"via": "image", "status": "asserted"},
                    Evidence(url=page.final_url, snippet=snippet, locator=image.locator),
                ),
            )


def _form_methods(p: Patterns, page: Page, form: Form) -> Iterable[tuple[tuple, Fact]]:
    for method, pattern in p.form_fields.items():
        fields = [n for n in form.input_names if pattern.search(n)]
        if fields:
            snippet = f"form fields {', '.join(fields)} posting to {form.action}"[:300]
            yield (
                ("payment_method", method, "form", "asserted"),
                Fact(
                    "payment_method",
                    method,
                    {"via": "form", "status": "asserted"},
                    Evidence(url=page.final_url, snippet=snippet, locator=form.locator),
                ),
            )


def _insecure_form(p: Patterns, page: Page, form: Form) -> Fact | None:
    fields = {kind: [n for n in form.input_names if rx.search(n)] for kind, rx in p.sensitive_fields.items()}
    data = [kind for kind, names in fields.items() if names]
    if form.has_file_input:
        data.append("personal")
    if _checkout(p, form.action) or _checkout(p, page.final_url):
        data.append("checkout")
    data = sorted(set(data))
    if not data:
        return None
    if form.action.startswith("http://"):
        reason = "form_action_http"
    elif page.final_url.startswith("http://"):
        reason = "page_http"
    else:
        return None
    names = sorted({n for names in fields.values() for n in names})
    snippet = f"form posting {', '.join(data)} data ({', '.join(names) or 'file upload'}) to {form.action}"[:300]
    return Fact(
        "insecure_form",
        form.action,
        {"reason": reason, "action": form.action, "data": data, "fields": names},
        Evidence(url=page.final_url, snippet=snippet, locator=form.locator),
    )
