"""Whether the site sells, how it collects prescriptions, and whether it says none is needed.

Fact kinds:

- `commerce`: evidence that the site itself sells (one per signal and page). value: the signal.
  attrs: `signal` (cart_button | checkout_link | order_link (incl. "Start consultation" of online doctor services) |
  order_form | product_offer_jsonld | price_with_buy |
  message_order), `role` (page role), `text` (button or link text, JSON-LD product name...). `order_link`: a
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
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from checker.facts import Fact
from checker.facts._common import PRICE_HINT, evidence, fold, heading_context, sentence_bounds
from checker.facts.domain import site_domains
from checker.facts.medicines import MedicineIndex, Mention
from checker.result import Evidence
from checker.snapshot import Page, Site
from checker.urls import registrable_domain

if TYPE_CHECKING:
    from checker.engine.loader import RulePack

CART_PHRASE = re.compile(
    r"(?i)\b(?:add\s+to\s+(?:cart|basket|bag|trolley)|buy\s+now|order\s+now|in\s+den\s+warenkorb|jetzt\s+kaufen|"
    r"jetzt\s+bestellen|ajouter\s+au\s+panier|acheter\s+maintenant|commander\s+maintenant|in\s+(?:de\s+)?winkel"
    r"(?:wagen|mand)|toevoegen\s+aan\s+(?:winkelwagen|winkelmand)|bestel\s+nu|koop\s+nu)\b"
)
CART_WORD = re.compile(r"(?i)^\W*(?:buy|order|kaufen|bestellen|acheter|commander|kopen|bestel|add|in\s+den\s+korb)\W*$")
CART_TEXT_LIMIT = 40
CHECKOUT_SEGMENT = re.compile(
    r"(?i)(?:^|[/_\-.])(?:cart|checkout|basket|warenkorb|kasse|panier|commande|winkelwagen|winkelmand|afrekenen|"
    r"add-to-cart|add_to_cart)(?:$|[/_\-.?])"
)
CHECKOUT_TEXT = re.compile(
    r"(?i)^\W*(?:(?:my|your|view|mein|mon|votre|mijn)\s+)?(?:cart|basket|bag|checkout|warenkorb|kasse|panier|"
    r"winkelwagen|winkelmand|afrekenen)\W*(?:\(\d+\))?\W*$"
)
ORDER_FIELDS = re.compile(
    r"(?i)add.?to.?cart|product.?id|variation.?id|^qty$|^quantity$|^menge$|^quantit[ée]$|^aantal$"
)
BUY_WORDS = re.compile(
    r"(?i)\b(?:buy|order|add\s+to\s+(?:cart|basket)|kaufen|bestellen|warenkorb|acheter|commander|panier|kopen|bestel|"
    r"winkelwagen)\b"
)
PRICED_BLOCK = 200
ORDER_FORM_TEXT = re.compile(
    r"(?i)\b(?:refill|transfer\s+(?:request|(?:a\s+|my\s+|your\s+)?prescription)|rezept\s+einl[öo]sen|"
    r"renouvellement\s+d'ordonnance|herhaalrecept|place\s+(?:an\s+|your\s+)?order)\b"
)
ORDER_LINK_TEXT = re.compile(
    r"(?i)^\W*(?:order\s+form|transfer\s+(?:a|my|your)\s+prescriptions?|(?:request|order)\s+(?:a\s+)?refills?|"
    r"refill\s+(?:a\s+|my\s+|your\s+)?prescriptions?|(?:e-)?rezept\s+einl[öo]sen|bestellformular|bon\s+de\s+commande|"
    r"herhaalrecept(?:en)?\s+bestellen|bestelformulier"
    r"|start\s+(?:(?:a|an|my|your|free|online)\s+)*(?:[\w-]+\s+){0,2}consultation|(?:online-?)?konsultation\s+starten"
    r"|commencer\s+(?:la\s+|ma\s+|votre\s+)?consultation|start\s+(?:uw\s+|je\s+)?(?:online\s+)?consult)\W*$"
)
MESSAGING_HOSTS = ("wa.me", "whatsapp.com", "t.me", "telegram.me", "telegram.org", "signal.me", "m.me", "viber.com")
ORDER_WORDS = re.compile(r"(?i)\b(?:order|buy|purchase|bestell\w*|kaufen|command\w*|achet\w*|kopen|bestel)\b")

STEP_PATTERNS = {
    "upload": r"upload\s+(?:a\s+|your\s+|the\s+)?(?:copy\s+of\s+(?:your\s+|the\s+)?)?(?:prescription|rx)|"
              r"photo\s+of\s+(?:your|the)\s+prescription|(?:e-)?rezept\s+(?:hochladen|fotografieren|(?:ein)?scannen)|"
              r"t[ée]l[ée]charg(?:er|ez)\s+(?:votre|l')\s*ordonnance|(?:envoy|d[ée]pos)(?:er|ez)\s+(?:votre|une|l')\s*"
              r"ordonnance|recept\s+(?:uploaden|insturen)|upload\s+(?:je|uw)\s+recept",
    "e_prescription": r"e-?prescriptions?|electronic\s+prescriptions?|\beps\b|nhs\s+(?:repeat\s+)?prescriptions?|"
                      r"nominate\s+(?:us|our\s+pharmacy)|e-?rezept|elektronische[sn]?\s+rezept|ordonnance\s+(?:[ée]"
                      r"lectronique|num[ée]rique|d[ée]mat[ée]rialis[ée]e)|e-?ordonnance|elektronisch\s+recept|e-?recept",
    "prescriber_contact": r"(?:we|our\s+pharmacists?)\s+(?:will\s+)?(?:contact|verify\s+with|call|check\s+with)\s+"
                          r"(?:your\s+)?(?:doctor|prescriber|gp|physician)|your\s+(?:doctor|prescriber|gp|physician)"
                          r"\s+(?:can\s+|will\s+|must\s+)?(?:send|fax|e-?mail|transmit)s?\s+(?:the\s+|your\s+|a\s+)?"
                          r"prescription|wir\s+(?:kontaktieren|rufen)\s+ihren\s+arzt|ihr\s+arzt\s+(?:sendet|schickt)|"
                          r"nous\s+contact(?:ons|erons)\s+votre\s+m[ée]decin|votre\s+m[ée]decin\s+(?:envoie|transmet)|"
                          r"wij\s+(?:nemen\s+)?contact\s+(?:op\s+)?met\s+uw\s+(?:arts|huisarts|voorschrijver)|"
                          r"uw\s+(?:arts|huisarts)\s+(?:stuurt|verstuurt)",
    "consultation": r"online\s+consultations?|(?:video|telephone|phone|virtual|tele-?)\s?consultations?|consultation"
                    r"\s+with\s+(?:our|a|one\s+of\s+our)\s+(?:doctors?|clinicians?|prescribers?|gps?|pharmacists?)|"
                    r"online-?(?:sprechstunde|arztgespr[äa]ch|konsultation)|videosprechstunde|t[ée]l[ée]consultation|"
                    r"consultation\s+en\s+ligne|online\s+consult|beeldbellen\s+met\s+(?:een|de)\s+arts",
    "questionnaire": r"(?:medical|health|online|short|brief|medizinische[nr]?)\s+(?:questionnaire|assessment)|"
                     r"questionnaire|fragebogen|vragenlijst",
    "mail_original": r"(?:post|mail|send)\s+(?:us\s+)?(?:your|the)\s+(?:original|paper)\s+prescription|original\s+"
                     r"prescription|(?:original)?rezept\s+(?:per\s+post|einsenden|zusenden|schicken)|originalrezept|"
                     r"ordonnance\s+originale|l'original\s+de\s+(?:votre|l')\s*ordonnance|(?:originele?|papieren)\s+"
                     r"recept|recept\s+(?:opsturen|per\s+post)",
}  # fmt: skip
STEP = re.compile("(?i)" + "|".join(f"(?P<{name}>{p})" for name, p in STEP_PATTERNS.items()))
PRESCRIPTION_WORDS = re.compile(r"(?i)prescription|rezept|ordonnance|recept|\brx\b")
NO_PRESCRIPTION = re.compile(
    r"(?i)\bno\s+(?:prior\s+)?(?:prescription|rx|script|doctor'?s?\s+(?:visit|approval|consultation))s?\s*"
    r"(?:is\s+)?(?:needed|required|necessary)?|\bwithout\s+(?:a\s+|any\s+)?(?:doctor'?s?\s+)?(?:prescription|rx)\b|"
    r"\bprescription\s+(?:is\s+)?not\s+(?:needed|required|necessary)|\bohne\s+(?:\w+\s+)?rezept\b|\brezeptfrei\b|"
    r"\bsans\s+ordonnance\b|\bzonder\s+(?:een\s+)?recept\b|\breceptvrij\b"
)


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    index = pack.medicines
    domains = site_domains(site)
    facts: dict[tuple, Fact] = {}

    def add(key: tuple, fact: Fact) -> None:
        facts.setdefault(key, fact)

    for page in site.html_pages():
        context = heading_context(page)
        for i, block in enumerate(page.blocks):
            text = block.text
            if len(text) <= CART_TEXT_LIMIT and (CART_PHRASE.search(text) or CART_WORD.match(text)):
                add(
                    ("cart_button", page.final_url),
                    _commerce(page, "cart_button", text, evidence(page, text, block.locator)),
                )
            priced = len(text) <= PRICED_BLOCK and PRICE_HINT.search(text) and BUY_WORDS.search(text)
            if (
                priced
                and cue.status(text, 0, 0, context[i]) == "asserted"
                and not _links_out(page, block.locator, domains)
            ):
                add(
                    ("price_with_buy", page.final_url),
                    _commerce(page, "price_with_buy", text, evidence(page, text, block.locator)),
                )
            for m in STEP.finditer(text):
                status = cue.status(text, m.start(), m.end(), context[i])
                attrs = {"type": m.lastgroup, "via": "text", "status": status}
                add(
                    ("step", m.lastgroup, status),
                    Fact("prescription_step", m.lastgroup, attrs, evidence(page, text, block.locator, *m.span())),
                )
            for m in NO_PRESCRIPTION.finditer(text):
                status = cue.status(text, m.start(), m.end(), context[i])
                medicine = _medicine_in_sentence(index, text, m.start(), m.end())
                attrs = {
                    "status": status,
                    "medicine": medicine.medicine.name if medicine else None,
                    "rx_class": (
                        "otc"
                        if medicine.nonprescription or medicine.medicine.dual_status
                        else medicine.medicine.rx_class
                    )
                    if medicine
                    else None,
                }
                add(
                    ("no_rx", fold(m.group(0).strip()), status, attrs["medicine"]),
                    Fact(
                        "no_prescription_claim",
                        m.group(0).strip(),
                        attrs,
                        evidence(page, text, block.locator, *m.span()),
                    ),
                )
        for link in page.links:
            if _message_order(link.href, link.text):
                ev = Evidence(
                    url=page.final_url, snippet=f"link “{link.text}” to {link.href}"[:300], locator=link.locator
                )
                add(("message_order", page.final_url), _commerce(page, "message_order", link.text, ev))
            if not link.href.startswith(("http://", "https://")) or registrable_domain(link.href) not in domains:
                continue
            short = len(link.text) <= CART_TEXT_LIMIT
            ev = Evidence(url=page.final_url, snippet=f"link “{link.text}” to {link.href}"[:300], locator=link.locator)
            if short and (CART_PHRASE.search(link.text) or CART_WORD.match(link.text)):
                add(("cart_button", page.final_url), _commerce(page, "cart_button", link.text, ev))
            if CHECKOUT_SEGMENT.search(urlsplit(link.href).path) or (short and CHECKOUT_TEXT.match(link.text)):
                add(("checkout_link", page.final_url), _commerce(page, "checkout_link", link.text, ev))
            if short and ORDER_LINK_TEXT.match(link.text):
                add(("order_link", page.final_url), _commerce(page, "order_link", link.text, ev))
        for form in page.doc.forms if page.doc else []:
            same_site = registrable_domain(form.action) in domains
            ev = Evidence(url=page.final_url, snippet=f"form to {form.action}: {form.text}"[:300], locator=form.locator)
            if same_site and (
                CHECKOUT_SEGMENT.search(urlsplit(form.action).path)
                or any(ORDER_FIELDS.search(n) for n in form.input_names)
                or CART_PHRASE.search(form.text)
                or ORDER_FORM_TEXT.search(form.text)
                or PRICE_HINT.search(form.text)  # choosing a priced pack
            ):
                add(("order_form", page.final_url), _commerce(page, "order_form", form.text[:100], ev))
            if form.has_file_input and (
                page.role == "prescriptions"
                or PRESCRIPTION_WORDS.search(" ".join([form.text, form.action, *form.input_names]))
            ):
                attrs = {"type": "upload", "via": "form", "status": "asserted"}
                add(("step", "upload", "form"), Fact("prescription_step", "upload", attrs, ev))
        for item in _offers(page.doc.json_ld if page.doc else []):
            snippet = f"JSON-LD Product “{item['name']}” offered at {item['price']} {item['currency']}"
            ev = Evidence(url=page.final_url, snippet=snippet[:300], locator="script[type='application/ld+json']")
            add(("product_offer_jsonld", page.final_url), _commerce(page, "product_offer_jsonld", item["name"], ev))
    return list(facts.values())


def _medicine_in_sentence(index: MedicineIndex, text: str, start: int, end: int) -> Mention | None:
    """The medicine the sentence is about: the one named closest to the phrase."""
    lo, hi = sentence_bounds(text, start, end)
    mentions = index.find(text[lo:hi])
    closest = min(mentions, key=lambda m: abs(lo + m.start - start), default=None)
    # "Viagra Connect (sildenafil 50mg) ... can be sold without a prescription": the product, not the molecule
    product = next((m for m in mentions if m.nonprescription and closest and m.medicine is closest.medicine), None)
    return product or closest


def _message_order(href: str, text: str) -> bool:
    """A link to order through a messaging app ("Order on WhatsApp", wa.me/...?text=I want to order...)."""
    host = (urlsplit(href).hostname or "").lower() if href.startswith(("http://", "https://")) else ""
    if not any(host == h or host.endswith("." + h) for h in MESSAGING_HOSTS):
        return False
    return bool(ORDER_WORDS.search(text) or ORDER_WORDS.search(unquote(href)))


def _commerce(page: Page, signal: str, text: str, ev: Evidence) -> Fact:
    return Fact("commerce", signal, {"signal": signal, "role": page.role, "text": text[:200]}, ev)


def _links_out(page: Page, locator: str, domains: set[str]) -> bool:
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
