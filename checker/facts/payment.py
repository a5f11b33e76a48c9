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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from checker.facts import Fact
from checker.facts._common import evidence, fold, heading_context
from checker.parse import Form
from checker.result import Evidence
from checker.snapshot import Page, Site
from checker.urls import registrable_domain

if TYPE_CHECKING:
    from checker.engine.loader import RulePack

# Text patterns, per method. Case matters where the name is also a common word (Visa, iDEAL, COD).
TEXT_METHODS = {
    "visa": r"\b(?:VISA|Visa)\b(?! (?:application|requirement|waiver|free|on arrival))",
    "mastercard": r"(?i:\bmaster\s?card\b)",
    "amex": r"(?i:\bamex\b|\bamerican express\b)",
    "paypal": r"(?i:\bpay\s?pal\b)",
    "bank_transfer": r"(?i:\bbank\s?transfer\b|\b[üu]berweisung\b|\bvorkasse\b|\bvirement(?:\s+bancaire)?\b"
                     r"|\b(?:bank)?overschrijving\b|\boverboeking\b)",
    "wire_transfer": r"(?i:\bwire\s+transfer\b|\bbank\s+wire\b|\bswift\s+transfer\b|\btelegraphic\s+transfer\b)",
    "crypto": r"(?i:\bbitcoins?\b|\bcrypto(?:currency|currencies)?\b|\bethereum\b|\busdt\b|\btether\b|\blitecoin\b"
              r"|\bkryptow[äa]hrung\w*|\bcryptomonnaies?\b|\bcryptovaluta\b)|\bBTC\b",
    "western_union": r"(?i:\bwestern\s?union\b)",
    "moneygram": r"(?i:\bmoney\s?gram\b)",
    "p2p": r"(?i:\bzelle\b|\bcash\s?app\b|\bvenmo\b|\bpaysafecard\b)",
    "echeck": r"(?i:\be-?checks?\b|\belectronic\s+checks?\b)",
    "gift_card": r"(?i:\bgift\s?cards?\b|\bitunes\s+cards?\b|\bgoogle\s+play\s+cards?\b|\bsteam\s+cards?\b)",
    "cash_on_delivery": r"(?i:\bcash\s+on\s+delivery\b|\bnachnahme\b|\bcontre[\s-]remboursement\b|\brembours\b)"
                        r"|\bCOD\b",
    "sepa": r"\bSEPA\b|(?i:\blastschrift\w*|\bpr[ée]l[èe]vement\b|\bautomatische\s+incasso\b)",
    "ideal": r"\biDEAL\b",
    "klarna": r"(?i:\bklarna\b)",
    "apple_pay": r"(?i:\bapple\s?pay\b)",
    "google_pay": r"(?i:\bgoogle\s?pay\b)",
    "invoice": r"(?i:\b(?:kauf|zahlung)?\s?auf\s+rechnung\b|\bper\s+rechnung\b|\bpay(?:ment)?\s+by\s+invoice\b"
               r"|\bpaiement\s+(?:sur|[àa]\s+r[ée]ception\s+de)\s+facture\b|\bachteraf\s+betalen\b|\bop\s+rekening\b)",
    "card": r"(?i:\b(?:credit|debit)(?:\s+(?:and|or|&|/)\s+(?:credit|debit))?\s?cards?\b|\ball\s+major\s+cards\b|"
    r"\b(?:bank|payment)\s+cards?\b|\bkredit\s?karten?\b|\bcartes?\s+(?:bancaires?|de\s+cr[ée]dit|bleue)\b"
            r"|\bcreditcards?\b|\bbetaalpas\b|\bcard\s+payments?\b|\bpay(?:ment)?\s+by\s+card\b)",
}  # fmt: skip
TEXT_PATTERN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in TEXT_METHODS.items()))
# Image alt/title/file names (folded, "-" and "_" as spaces).
IMAGE_METHODS = {
    "visa": r"visa", "mastercard": r"master ?card|mc", "amex": r"amex|american express", "paypal": r"pay ?pal",
    "bank_transfer": r"bank ?transfer|ueberweisung|uberweisung|vorkasse|virement", "wire_transfer": r"wire ?transfer",
    "crypto": r"bitcoin|btc|crypto|ethereum|usdt|litecoin", "western_union": r"western ?union|wu",
    "moneygram": r"money ?gram", "p2p": r"zelle|cash ?app|venmo|paysafecard",
    "echeck": r"e ?check", "gift_card": r"gift ?card", "sepa": r"sepa",
    "cash_on_delivery": r"nachnahme|cash on delivery|cod", "ideal": r"ideal", "klarna": r"klarna",
    "apple_pay": r"apple ?pay", "google_pay": r"google ?pay|gpay", "card": r"credit ?cards?|debit ?cards?|cards",
}  # fmt: skip
IMAGE_PATTERN = re.compile(
    r"(?:^|[^a-z])(?:" + "|".join(f"(?P<{n}>{p})" for n, p in IMAGE_METHODS.items()) + r")(?:$|[^a-z])"
)
MAX_LOGO_TEXT = 40
DEPICTION = re.compile(
    r"(?i)\b(?:screenshot|example|beispiel|exemple|voorbeeld|fake|counterfeit|gef[äa]lscht|faux|nep)"
)
FORM_FIELDS = {
    "card": re.compile(r"(?i)card.?(?:number|num|no)|cc.?(?:num|number|no)|cvv|cvc|card.?exp|exp.?(?:month|year)"),
    "bank_transfer": re.compile(r"(?i)\biban\b|\bbic\b|sort.?code|account.?number"),
    "crypto": re.compile(r"(?i)btc|bitcoin|wallet|crypto"),
}

DESCRIPTOR_NAME = r"(?:\s*[\"“„'«]?\s*(?P<name>(?:[^\"”“'»\n.,;:!?()]|\.(?=\S)){2,60}))?"
MASKED = re.compile(
    r"(?i)(?:(?:appear|show|shown|displayed|listed|read)s?\s+(?:up\s+)?on\s+(?:your|the)\s+(?:\w+\s+){0,2}statements?"
    r"\s+as|(?:charge|payment|transaction|purchase|statement)s?\s+(?:will\s+)?(?:appears?|shows?|reads?|be\s+shown)"
    r"\s+as"
    r"|billing\s+descriptor"
    r"(?:\s+(?:is|will\s+be))?:?|(?:erscheint|steht)\s+(?:auf\s+(?:ihrem|dem|deinem)\s+(?:\w+\s+)?(?:kontoauszug|"
    r"kreditkartenabrechnung)\s+)?(?:als|unter)|appara[iî]t(?:ra)?\s+sur\s+votre\s+relev[ée]\s+(?:\w+\s+)?"
    r"(?:sous\s+le\s+nom(?:\s+de)?|comme)|(?:verschijnt|staat)\s+op\s+(?:uw|je)\s+(?:bank)?afschrift\s+als)"
    + DESCRIPTOR_NAME
)
GENERIC_DESCRIPTOR_WORDS = {"pharmacy", "online", "shop", "store", "health", "care", "meds", "services", "service"}
FEE = re.compile(
    r"(?i)\b(?:customs|clearance|import|custom)\s+(?:clearance\s+)?(?:fees?|charges?|duty|duties|tax(?:es)?)\b"
    r"|\bzoll(?:geb[üu]hr\w*|kosten|abgaben)\b|\bfrais\s+de\s+(?:douane|d[ée]douanement)\b"
    r"|\bdroits\s+de\s+douane\b|\b(?:douanekosten|inklaringskosten|invoerrechten)\b"
)
NO_FEE_BEFORE = re.compile(r"(?i)\b(?:no|without|free\s+of|kein\w*|ohne|sans|aucuns?|pas\s+de|geen|zonder)\s+$")
AFTER_ORDER = re.compile(
    r"(?i)\bafter\s+(?:your\s+|the\s+)?(?:order|purchase|payment)|upon\s+(?:arrival|delivery)|on\s+delivery|"
    r"before\s+(?:release|delivery|dispatch)|you\s+will\s+(?:be\s+asked|need|have)\s+to\s+pay|must\s+be\s+paid|"
    r"payable|nach\s+(?:der\s+|ihrer\s+)?bestellung|bei\s+(?:der\s+)?(?:lieferung|zustellung)|[àa]\s+la\s+livraison|"
    r"apr[èe]s\s+(?:la\s+|votre\s+)?commande|bij\s+(?:de\s+)?(?:levering|aflevering)|na\s+(?:de\s+|uw\s+)?bestelling"
)

SENSITIVE_FIELDS = {
    "payment": re.compile(r"(?i)card|\bcc|cvv|cvc|expir|iban|\bbic\b|sort.?code|account.?num|wallet|btc"),
    "personal": re.compile(r"(?i)password|passwd|e-?mail|name|address|street|post.?code|zip|phone|tel|dob|birth|"
                           r"prescription|ssn|insurance|geburt|adresse|naam|adres|telefoon"),
}  # fmt: skip
CHECKOUT_PATH = re.compile(
    r"(?i)checkout|order|cart|basket|payment|/pay\b|kasse|bestell|warenkorb|panier|commande|paiement|winkelwagen|"
    r"afrekenen"
)


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    facts: dict[tuple, Fact] = {}
    site_label = registrable_domain(site.start_url).split(".")[0].replace("-", "")
    for page in site.html_pages():
        context = heading_context(page)
        for i, block in enumerate(page.blocks):
            text = block.text
            for m in TEXT_PATTERN.finditer(text):
                status = cue.status(text, m.start(), m.end(), context[i])
                attrs = {"via": "text", "status": status}
                key = ("payment_method", m.lastgroup, "text", status)
                if key not in facts:
                    facts[key] = Fact(
                        "payment_method", m.lastgroup, attrs, evidence(page, text, block.locator, *m.span())
                    )
            for m in MASKED.finditer(text):
                name = (m.group("name") or "").strip() or None
                attrs = {
                    "descriptor": name,
                    "mentions_site": _mentions(name, site_label),
                    "status": cue.status(text, m.start(), m.end(), context[i]),
                }
                facts.setdefault(
                    ("masked_descriptor", name),
                    Fact("masked_descriptor", name, attrs, evidence(page, text, block.locator, *m.span())),
                )
            for m in FEE.finditer(text):
                start, end = _sentence(text, m.start(), m.end())
                status = cue.status(text, m.start(), m.end(), context[i])
                if NO_FEE_BEFORE.search(text[max(0, m.start() - 20) : m.start()]):
                    status = "negated"  # "there are no customs charges"
                attrs = {"after_order": bool(AFTER_ORDER.search(text[start:end])), "status": status}
                key = ("after_order_fee", text[start:end])
                facts.setdefault(
                    key, Fact("after_order_fee", m.group(0), attrs, evidence(page, text, block.locator, *m.span()))
                )
        for key, fact in _images(page):
            facts.setdefault(key, fact)
        for form in page.doc.forms if page.doc else []:
            for key, fact in _form_methods(page, form):
                facts.setdefault(key, fact)
            fact = _insecure_form(page, form)
            if fact is not None:
                facts.setdefault(("insecure_form", fact.value), fact)
        if page.final_url.startswith("http://") and CHECKOUT_PATH.search(urlsplit(page.final_url).path):
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


def _mentions(descriptor: str | None, site_label: str) -> bool:
    """Whether a card descriptor names the site: a word of 4+ letters of it is in the domain's name."""
    words = re.findall(r"[a-z]{4,}", fold(descriptor or ""))
    return any(word in site_label for word in words if word not in GENERIC_DESCRIPTOR_WORDS)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    hi = min((i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0), default=len(text))
    return lo + 1, hi


def _images(page: Page) -> Iterable[tuple[tuple, Fact]]:
    for image in page.images:
        name = urlsplit(image.src).path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        words = " ".join(w for w in (image.alt, image.title) if len(w) <= MAX_LOGO_TEXT)  # longer: a description
        label = fold(f"{words} {name}").replace("-", " ").replace("_", " ")
        found = {m.lastgroup for m in IMAGE_PATTERN.finditer(label)}
        described = f"{image.alt} | {image.title}"
        if not DEPICTION.search(described):  # "We accept Visa, Mastercard...", not "Screenshot of a fake shop..."
            found |= {m.lastgroup for m in TEXT_PATTERN.finditer(described)}
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


def _form_methods(page: Page, form: Form) -> Iterable[tuple[tuple, Fact]]:
    for method, pattern in FORM_FIELDS.items():
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


def _insecure_form(page: Page, form: Form) -> Fact | None:
    fields = {kind: [n for n in form.input_names if p.search(n)] for kind, p in SENSITIVE_FIELDS.items()}
    data = [kind for kind, names in fields.items() if names]
    if form.has_file_input:
        data.append("personal")
    if CHECKOUT_PATH.search(urlsplit(form.action).path) or CHECKOUT_PATH.search(urlsplit(page.final_url).path):
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
