"""Whether the site sells, how it collects prescriptions, and whether it says none is needed.

Fact kinds:

- `commerce`: evidence that the site itself sells (one per signal and page). value: the signal.
  attrs: `signal` (cart_button | checkout_link | order_link (incl. "Start consultation" of online doctor services) |
  order_form | product_offer_jsonld | price_with_buy |
  message_order), `role` (page role), `text` (button or link text, JSON-LD product name...),
  `prescription_order` (bool: the text orders prescriptions themselves, e.g. "Transfer a prescription"). `order_link`: a
  same-site link to an order form, a refill or a prescription transfer ("Transfer a prescription", "Rezept
  einlösen"). `order_form`: a same-site form to a cart/checkout, with product/quantity fields, with prices to
  choose from, or for a refill or prescription transfer. `message_order`: a link to order through WhatsApp,
  Telegram, Signal... Links and buttons that lead to another shop (price comparison, affiliate links) do not count.
- `prescription_step`: evidence that a prescription is collected and checked. value: the type.
  attrs: `type` (upload | e_prescription | prescriber_contact | consultation | questionnaire | mail_original),
  `via` (form | text), `status` (asserted | negated | quoted | question | warning). One per type and status.
- `no_prescription_claim`: "no prescription needed", "without a prescription", "ohne Rezept", "rezeptfrei",
  "sans ordonnance", "zonder recept". value: the phrase as written. attrs: `status` (asserted | negated |
  quoted | question | warning: "we never sell without a prescription" is negated, "beware of sites selling
  without a prescription" a warning, an advert's “no prescription needed” cited in an article is quoted),
  `medicine` (the medicine named closest in the same sentence, or null), `rx_class` (its class; `otc` also for
  products legally sold without prescription, e.g. "Viagra Connect ... without a prescription"; null when no
  medicine is named). One per phrase, status and medicine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from rxcheck.facts import Fact
from rxcheck.facts._common import PRICE_HINT, evidence, fold, heading_context, sentence_bounds
from rxcheck.facts.domain import site_domains
from rxcheck.facts.medicines import MedicineIndex, Mention
from rxcheck.lexicon import Hit, TermMatcher
from rxcheck.result import Evidence
from rxcheck.snapshot import Page, Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

CART_TEXT_LIMIT = 40
PRICED_BLOCK = 200
MESSAGING_HOSTS = ("wa.me", "whatsapp.com", "t.me", "telegram.me", "telegram.org", "signal.me", "m.me", "viber.com")
STEP_TYPES = ("upload", "e_prescription", "prescriber_contact", "consultation", "questionnaire", "mail_original")
FIELD_SEPARATORS = str.maketrans("_.-", "   ")


def _whole_label(matcher: TermMatcher, text: str) -> bool:
    """Whether a short label is one term and nothing else but punctuation and an item count ("Cart (2)")."""
    for hit in matcher.finditer(text):
        rest = re.sub(r"\(\d+\)", "", text[hit.end :], count=1)
        if not any(c.isalnum() for c in text[: hit.start]) and not any(c.isalnum() for c in rest):
            return True
    return False


def _steps(pack: RulePack, text: str) -> list[tuple[str, Hit]]:
    """Prescription steps named in the text, left to right, one per stretch of text (the first kind on a tie)."""
    return pack.lexicon.first_hits([(kind, f"prescription_step_{kind}") for kind in STEP_TYPES], text)


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    index = pack.medicines
    lex = pack.lexicon
    cart_phrase, cart_word, buy_verb = lex.matcher("cart_phrase"), lex.matcher("cart_word"), lex.matcher("buy_verb")
    buy_word, no_prescription = lex.matcher("buy_word"), lex.matcher("no_prescription_claim")
    checkout_url, checkout_label = lex.matcher("checkout_url_word"), lex.matcher("checkout_label")
    order_link, order_form_text = lex.matcher("order_link_label"), lex.matcher("order_form_text")
    field_part, field_name = lex.matcher("order_field_part"), lex.matcher("order_field_name")
    rx_order = lex.matcher("prescription_order_word")

    @cache  # per site: the same labels on every page
    def is_cart(label: str) -> bool:
        return len(label) <= CART_TEXT_LIMIT and (
            cart_phrase.search(label) or _whole_label(cart_word, label) or _whole_label(buy_verb, label)
        )

    def order_field(name: str) -> bool:
        name = name.translate(FIELD_SEPARATORS)
        return field_part.search(name) or _whole_label(field_name, name)

    domains = site_domains(site)
    facts: dict[tuple, Fact] = {}

    def add(key: tuple, fact: Fact) -> None:
        facts.setdefault(key, fact)

    read: set[tuple[str, bool]] = set()  # blocks whose steps and claims were read (heading: warning or not)
    for page in site.html_pages():
        context = heading_context(page)
        for i, block in enumerate(page.blocks):
            text = block.text
            if is_cart(text):
                add(
                    ("cart_button", page.final_url),
                    _commerce(page, "cart_button", text, evidence(page, text, block), rx_order),
                )
            priced = len(text) <= PRICED_BLOCK and PRICE_HINT.search(text) and buy_word.search(text)
            if (
                priced
                and cue.status(text, 0, 0, context[i]) == "asserted"
                and not links_out(page, block.locator, domains)
            ):
                add(
                    ("price_with_buy", page.final_url),
                    _commerce(page, "price_with_buy", text, evidence(page, text, block), rx_order),
                )
            seen = (text, bool(cue.is_warning(context[i])))
            if seen in read:  # a block repeated on every page: its steps and claims are in already
                continue
            read.add(seen)
            for kind, hit in _steps(pack, text):
                status = cue.status(text, hit.start, hit.end, context[i])
                attrs = {"type": kind, "via": "text", "status": status}
                add(
                    ("step", kind, status),
                    Fact("prescription_step", kind, attrs, evidence(page, text, block, hit.start, hit.end)),
                )
            otc_ranges: list | None = None
            for hit in no_prescription.finditer(text):
                claim = text[hit.start : hit.end]
                status = cue.status(text, hit.start, hit.end, context[i])
                medicine = _medicine_in_sentence(index, text, hit.start, hit.end)
                if otc_ranges is None:
                    otc_ranges = list(lex.matcher("otc_range").finditer(text))
                # "Medicamentos sin receta para el dolor", "medicines available without a prescription": the name of
                # the non-prescription range, not a claim about a prescription-only medicine
                in_otc_range = any(r.start <= hit.start and hit.end <= r.end for r in otc_ranges)
                attrs = {
                    "status": status,
                    "medicine": medicine.medicine.name if medicine else None,
                    "rx_class": (
                        "otc"
                        if medicine.nonprescription or medicine.medicine.dual_status
                        else medicine.medicine.rx_class
                    )
                    if medicine
                    else ("otc" if in_otc_range else None),
                }
                add(
                    ("no_rx", fold(claim), status, attrs["medicine"]),
                    Fact("no_prescription_claim", claim, attrs, evidence(page, text, block, hit.start, hit.end)),
                )
        for link in page.links:
            if _message_order(lex.matcher("order_word"), link.href, link.text):
                ev = Evidence(
                    url=page.final_url, snippet=f"link “{link.text}” to {link.href}"[:300], locator=link.locator
                )
                add(("message_order", page.final_url), _commerce(page, "message_order", link.text, ev, rx_order))
            if not link.href.startswith(("http://", "https://")) or registrable_domain(link.href) not in domains:
                continue
            short = len(link.text) <= CART_TEXT_LIMIT
            signals = [
                signal
                for signal, found in (
                    ("cart_button", is_cart(link.text)),
                    ("checkout_link", checkout_url.search(urlsplit(link.href).path)
                     or (short and _whole_label(checkout_label, link.text))),
                    ("order_link", short and _whole_label(order_link, link.text)),
                )
                if found
            ]  # fmt: skip
            if signals:
                snippet = f"link “{link.text}” to {link.href}"[:300]
                ev = Evidence(url=page.final_url, snippet=snippet, locator=link.locator)
                for signal in signals:
                    add((signal, page.final_url), _commerce(page, signal, link.text, ev, rx_order))
        for form in page.doc.forms if page.doc else []:
            same_site = registrable_domain(form.action) in domains
            ev = Evidence(url=page.final_url, snippet=f"form to {form.action}: {form.text}"[:300], locator=form.locator)
            if same_site and (
                checkout_url.search(urlsplit(form.action).path)
                or any(order_field(n) for n in form.input_names)
                or cart_phrase.search(form.text)
                or order_form_text.search(form.text)
                or PRICE_HINT.search(form.text)  # choosing a priced pack
            ):
                add(("order_form", page.final_url), _commerce(page, "order_form", form.text[:100], ev, rx_order))
            if form.has_file_input and (
                page.role == "prescriptions"
                or lex.matcher("prescription_word").search(" ".join([form.text, form.action, *form.input_names]))
            ):
                attrs = {"type": "upload", "via": "form", "status": "asserted"}
                add(("step", "upload", "form"), Fact("prescription_step", "upload", attrs, ev))
        for item in _offers(page.doc.json_ld if page.doc else []):
            snippet = f"JSON-LD Product “{item['name']}” offered at {item['price']} {item['currency']}"
            ev = Evidence(url=page.final_url, snippet=snippet[:300], locator="script[type='application/ld+json']")
            add(
                ("product_offer_jsonld", page.final_url),
                _commerce(page, "product_offer_jsonld", item["name"], ev, rx_order),
            )
    return list(facts.values())


def _medicine_in_sentence(index: MedicineIndex, text: str, start: int, end: int) -> Mention | None:
    """The medicine the sentence is about: the one named closest to the phrase."""
    lo, hi = sentence_bounds(text, start, end)
    mentions = index.find(text[lo:hi])
    closest = min(mentions, key=lambda m: abs(lo + m.start - start), default=None)
    # "Viagra Connect (sildenafil 50mg) ... can be sold without a prescription": the product, not the molecule
    product = next((m for m in mentions if m.nonprescription and closest and m.medicine is closest.medicine), None)
    return product or closest


def _message_order(order_word: TermMatcher, href: str, text: str) -> bool:
    """A link to order through a messaging app ("Order on WhatsApp", wa.me/...?text=I want to order...)."""
    host = (urlsplit(href).hostname or "").lower() if href.startswith(("http://", "https://")) else ""
    if not any(host == h or host.endswith("." + h) for h in MESSAGING_HOSTS):
        return False
    return bool(order_word.search(text) or order_word.search(unquote(href)))


def _commerce(page: Page, signal: str, text: str, ev: Evidence, prescription: TermMatcher) -> Fact:
    attrs = {
        "signal": signal,
        "role": page.role,
        "text": text[:200],
        "prescription_order": prescription.search(text[:200]),
    }
    return Fact("commerce", signal, attrs, ev)


def links_out(page: Page, locator: str, domains: set[str]) -> bool:
    """Whether the block's links all lead to other sites (a price-comparison listing, not a shop)."""
    inside = [link for link in page.links if link.locator.startswith(locator + " > ")]
    http = [link for link in inside if link.href.startswith(("http://", "https://"))]
    return bool(http) and all(registrable_domain(link.href) not in domains for link in http)


def _offers(items: list[Any]) -> Iterable[dict]:
    """Products with a priced offer, and bare priced offers, anywhere in the JSON-LD."""
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "Product" in kinds or "Drug" in kinds:
            offers = item.get("offers")
            for offer in offers if isinstance(offers, list) else [offers]:
                if isinstance(offer, dict) and (offer.get("price") is not None or offer.get("lowPrice") is not None):
                    yield {
                        "name": str(item.get("name") or ""),
                        "price": offer.get("price", offer.get("lowPrice")),
                        "currency": offer.get("priceCurrency", ""),
                    }
                    break
        elif "Offer" in kinds and item.get("price") is not None:
            yield {
                "name": str(item.get("name") or ""),
                "price": item["price"],
                "currency": item.get("priceCurrency", ""),
            }
        for key, value in item.items():
            if key != "offers" and isinstance(value, dict | list):
                yield from _offers(value if isinstance(value, list) else [value])
