"""Prices, pack sizes and per-unit prices, compared with legitimate reference prices; bonus pills and discounts.

Fact kinds:

- `price`: one per price shown next to a pack or a medicine (a price table row counts once).
  value: the amount (float). attrs: `amount`, `currency` (ISO: USD, GBP, EUR, CAD, AUD, CHF, INR...),
  `currency_assumed` (bool: from an ambiguous symbol such as a bare "$", read as USD), `pack_size` (int or null),
  `unit` (pill | tablet | capsule | piece | pen | vial | injection | ml | box, or null), `per_unit` (float or null:
  amount / pack_size, or the amount when it is a per-unit price), `from` (bool: "from $0.39", "ab 1,99 €"),
  `medicine` (canonical name or null), `name` (the medicine name as written), `brand` (bool: a brand name such as
  Viagra or Accutane was used, not preceded by "generic"), `strength` (e.g. "40mg", or null), `rx_class`,
  `brand_only` (no generic approved for this medicine)
  (prescription_only | controlled | otc | null), `reference_per_unit` (legitimate lowest per-unit price from
  `rules/reference/prices.yaml`, converted into this price's currency, or null), `reference_market`,
  `reference_source`, `ratio` (per_unit / reference_per_unit, or null), `context` (block | row: where the
  pack and price were read), `status` (asserted | negated | quoted | question | warning: a price quoted from an
  advert in a news story or a warning list is not the site's own).
- `bonus_pills`: "+ 10 free pills", "4 bonus pills", "gratis Tabletten". value: count (int). attrs: `count`,
  `status` (as for prices).
- `discount`: "70% off", "save 80%", "-50%", "jusqu'à -70%". value: percent (int). attrs: `percent`, `status`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import re2

from rxcheck import regex
from rxcheck.facts import Fact
from rxcheck.facts._common import PRICE_HINT, RE2_OPTIONS, evidence, fold
from rxcheck.facts.medicines import MedicineIndex, Mention, generic_before
from rxcheck.lexicon import Lexicon, Offsets
from rxcheck.parse import Block, Located, located_path
from rxcheck.snapshot import Page, Site

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

AMOUNT = r"\d{1,3}(?:[.,'\x{00a0}\x{202f}]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
UNIT_NAMES = ("pill", "tablet", "capsule", "piece", "pen", "vial", "injection", "ml", "box")  # lexicon unit_<name>
FAMILY = {"pill": "dose", "tablet": "dose", "capsule": "dose", "piece": "dose", "pen": "pen", "vial": "pen",
          "injection": "pen", "ml": "ml", "box": "box", None: "dose"}  # fmt: skip
NOT_BONUS_UNITS = ("ml",)  # "SPF 50+ 50 ml" is a sun cream: doses, pens and packs are given as bonus pills
LOWER_AFTER_UNIT = frozenset("abcdefghijklmnopqrstuvwxyzäöüéè")  # "per pillBuy Now": inline elements run together
S = r"[\s\pZ]"  # any space, no-break spaces too
PRODUCT_NAME = re.compile(r"\b[A-Z][A-Za-z\-]{2,}\s+\d+(?:[.,/]\d+)*\s?(?:mg|mcg|µg|ml)\b")
MARKETS = {"USD": "US", "GBP": "GB", "EUR": "EU", "CAD": "CA"}
MAX_CARD_BLOCKS = 8
SHORT_LABEL = 80


@dataclass(frozen=True)
class Strength:
    start: int
    amount: str  # "0.5"
    unit: str  # folded: "mg", "iu"

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Money:
    start: int
    end: int
    amount: float
    currency: str
    assumed: bool


class Prices:
    """The price reader and the reference prices for one rule pack."""

    def __init__(self, currencies: Any, prices: Any) -> None:
        currencies = currencies or {}
        self.rates: dict[str, float] = {k: float(v) for k, v in (currencies.get("rates") or {"USD": 1.0}).items()}
        self.symbols: dict[str, str] = dict(currencies.get("symbols") or {"$": "USD", "£": "GBP", "€": "EUR"})
        self.ambiguous = set(currencies.get("ambiguous") or ["$"])
        self.words = {k.lower(): v for k, v in (currencies.get("words") or {}).items()}
        symbols = "|".join(re2.escape(s) for s in sorted(self.symbols, key=len, reverse=True))
        codes = "|".join(sorted(self.rates, key=len, reverse=True))
        words = "|".join(sorted(self.words, key=len, reverse=True)) or "(?!)"
        self.money = regex.compile(
            rf"(?:(?P<sym>{symbols})|\b(?P<code>{codes})\b)\s?(?P<amt>{AMOUNT})"
            rf"|(?:^|[^\w.,])(?P<amt2>{AMOUNT})\s?(?:(?P<sym2>{symbols})|(?P<code2>{codes})\b|(?i:(?P<word>{words}))\b)",
            RE2_OPTIONS,
        )
        self.rows = [row for row in (prices or {}).get("prices") or [] if isinstance(row, dict)]

    def find(self, text: str) -> list[Money]:
        """Every amount with its currency. The text is encoded once and searched as bytes: linear in its length."""
        found = []
        data = text.encode("utf-8")
        offsets = Offsets(data)
        g = self.money.groupindex
        pos = 0
        while pos < len(data):
            m = self.money.search(data, pos)
            if not m:
                break

            part = _decoder(m, g)
            if m.group("amt") is not None:
                symbol, code, raw = part("sym"), part("code"), part("amt")
                start, end = m.start(g["sym"] if symbol is not None else g["code"]), m.end(g["amt"])
            else:
                symbol, code, raw = part("sym2"), part("code2"), part("amt2")
                start = m.start(g["amt2"])
                end = max(m.end(g[name]) for name in ("sym2", "code2", "word") if m.group(name) is not None)
            currency = self.symbols.get(symbol, "") if symbol else code or self.words.get((part("word") or "").lower())
            amount = parse_amount(raw)
            pos = max(end, m.start() + 1)
            if amount and currency:
                found.append(
                    Money(offsets.char_of(start), offsets.char_of(end), amount, currency, symbol in self.ambiguous)
                )
        return found

    def convert(self, amount: float, source: str, target: str) -> float | None:
        if source not in self.rates or target not in self.rates:
            return None
        return amount / self.rates[source] * self.rates[target]

    def reference(
        self, medicine: str, brand: str | None, strength: str | None, currency: str, family: str
    ) -> dict | None:
        rows = [r for r in self.rows if r.get("drug") == medicine and FAMILY.get(_unit_name(r.get("unit"))) == family]
        if brand:
            candidates = [r for r in rows if r.get("brand") and fold(str(r["brand"])) == brand]
            candidates = candidates or [r for r in rows if r.get("brand")]
        else:
            candidates = [r for r in rows if not r.get("brand")]
        candidates = candidates or rows
        candidates = [r for r in candidates if r.get("market") == MARKETS.get(currency)] or candidates
        exact = [r for r in candidates if r.get("strength") and _strength(str(r["strength"])) == strength]
        candidates = exact or [r for r in candidates if not r.get("strength")] or candidates
        best = None
        for row in candidates:
            value = self.convert(float(row["lowest_per_unit"]), str(row.get("currency")), currency)
            if value is not None and (best is None or value < best[0]):
                best = (value, row)
        if best is None:
            return None
        return {"per_unit": round(best[0], 4), "market": best[1].get("market"), "source": best[1].get("source")}


def _decoder(m: Any, groups: dict[str, int]) -> Callable[[str], str | None]:
    """A match on bytes read back as text, group by group (by number: re2 rebuilds its name table on every lookup)."""

    def part(name: str) -> str | None:
        value = m.group(groups[name])
        return value.decode("utf-8") if value is not None else None

    return part


def parse_amount(raw: str) -> float | None:
    text = re.sub(r"[\s'\u00a0\u202f]", "", raw)
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        single = text.count(sep) == 1
        decimal = sep if single and (len(text) - text.rfind(sep) - 1 in (1, 2) or text.startswith("0")) else None
    else:
        decimal = None
    thousands = {",", "."} - {decimal}
    for sep in thousands:
        text = text.replace(sep, "")
    if decimal:
        text = text.replace(decimal, ".")
    try:
        return float(text)
    except ValueError:
        return None


class Units:
    """Pack sizes and units around a price, read on folded text. The words are lexicon lists placed in these
    structures: `unit_<name>` for each unit of UNIT_NAMES, `price_per_word` ("$2 per pill"), `unit_price_word`
    ("90 pills a $0.45"), `pack_price_for` ("$9 for 30 tablets"), `pack_of` ("pack of 30"), `bonus_word`,
    `bonus_label` and `free_after_unit` ("+ 10 free pills", "Bonus: 4", "10 pills free")."""

    def __init__(self, lex: Lexicon) -> None:
        def words(name: str) -> str:
            return lex.alternation(name, folded=True)

        def program(pattern: str) -> regex.Pattern:
            return regex.compile(pattern, RE2_OPTIONS)

        self.matchers = [(name, lex.matcher(f"unit_{name}")) for name in UNIT_NAMES]
        unit = "|".join(words(f"unit_{name}") for name in UNIT_NAMES)
        given = "|".join(words(f"unit_{name}") for name in UNIT_NAMES if name not in NOT_BONUS_UNITS)
        n = r"\d{1,4}"
        self.per_after = program(rf"^{S}*(?:/|{words('price_per_word')})?{S}*(?P<unit>{unit})")
        self.x_before = program(rf"(?P<n>{n}){S}*(?P<unit>{unit}){S}*(?:x|×|\*|@|{words('unit_price_word')}){S}*$")
        self.for_after = program(rf"^{S}*{words('pack_price_for')}{S}+(?P<n>{n}){S}*(?P<unit>{unit})\b")
        self.n_before = program(rf"(?P<n>{n}){S}*(?P<unit>{unit})\b[^\d$£€]{{0,25}}$")
        self.pack_of = program(
            rf"\b{words('pack_of')}{S}+(?P<n>{n})"
            rf"|\b(?P<n2>{n}){S}*(?:x|×){S}*\d+(?:[.,]\d+)?{S}?(?:mg|mcg|µg|g)\b"
            rf"|\b(?P<n3>{n}){S}*(?P<unit>{unit})\b"
        )
        # a strength: "40mg", "0,5 mg", "5000 IU" (lexicon `strength_unit`), or a percentage
        self.strength = program(
            rf"(?:^|[^\pL\pN_.,])(?P<amount>\d+(?:[.,]\d+)?){S}?(?P<unit>{words('strength_unit')}|%)"
        )
        bonus, free, count = words("bonus_word"), words("free_after_unit"), r"\d{1,3}"
        self.bonus = program(
            rf"\+{S}?(?P<n1>{count}){S}+(?:{bonus}{S}+)?(?:{given})\b"
            rf"|\b(?P<n2>{count}){S}+{bonus}{S}+(?:{given})\b"
            rf"|\b{words('bonus_label')}(?:{S}+(?:{given}))?{S}*:?{S}*\+?(?P<n3>{count})\b"
            rf"|\b(?P<n4>{count}){S}+(?:{given}){S}+{free}\b"
        )

    def kind(self, word: str | None) -> str | None:
        """The unit a word names ("Tabletten": tablet), or None."""
        word = (word or "").strip()
        return next((name for name, matcher in self.matchers if matcher.whole(word)), None) if word else None

    def per(self, after: str) -> str | None:
        """The unit of a per-unit price, from the text right after it ("/ pill", "per Tablette"), or None."""
        m = self.per_after.match(fold(after))
        if m is None:
            return None
        end = m.span(self.per_after.groupindex["unit"])[1]
        if after[end : end + 1] in LOWER_AFTER_UNIT:
            return None
        return self.kind(m.group("unit")) or ""  # "" : a unit word, of no known kind

    def strengths(self, text: str) -> list[Strength]:
        """Every strength in the text, percentages aside, left to right."""
        amount, unit = self.strength.groupindex["amount"], self.strength.groupindex["unit"]
        found = []
        for m in self.strength.finditer(fold(text)):
            end = m.span(unit)[1]
            if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue  # "40 mgs", "5 gel": not a strength
            if m.group(unit) != "%":
                found.append(Strength(m.span(amount)[0], m.group(amount).replace(",", "."), m.group(unit)))
        return found

    def bonuses(self, text: str) -> Iterator[tuple[int, int, int]]:
        """(count, start, end) of each bonus in the text."""
        for m in self.bonus.finditer(fold(text)):
            yield int(next(g for g in m.group("n1", "n2", "n3", "n4") if g)), m.start(), m.end()


def units_of(pack: RulePack) -> Units:
    return pack.compiled("price_units", lambda p: Units(p.lexicon))


def _unit_name(name: str | None) -> str | None:
    """A reference row's unit: one of UNIT_NAMES, else None ("amount", blank)."""
    return name if name in UNIT_NAMES else None


def _strength(text: str) -> str:
    """A reference row's strength as prices write it: "40mg", "0.5mg"."""
    return text.lower().replace(" ", "").replace(",", ".")


# --- extraction ---


@dataclass
class Context:
    """A stretch of text prices are read from, and the texts around it where the medicine may be named."""

    text: str
    where: Located  # the block, or a row's first cell
    kind: str  # block | row
    around: list[str]  # card siblings, heading, page title: searched in order for a medicine and strength
    cells: list[str] | None = None
    headers: list[str] | None = None
    heading: str = ""
    memo: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)  # per-text finds, shared by its prices

    def mentions(self, index: MedicineIndex, text: str) -> tuple[str, list[Mention]]:
        """The folded text and the medicines named in it (one of this context's texts), found once."""
        key = ("mentions", id(text))
        if key not in self.memo:
            folded = fold(text)
            self.memo[key] = (folded, index.find(text, folded))
        return self.memo[key]

    def strengths(self, units: Units, text: str) -> list[Strength]:
        key = ("strengths", id(text))
        if key not in self.memo:
            self.memo[key] = units.strengths(text)
        return self.memo[key]

    def strengths_at(self, units: Units, text: str) -> list[int]:
        key = ("starts", id(text))
        if key not in self.memo:
            self.memo[key] = [s.start for s in self.strengths(units, text)]
        return self.memo[key]


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    cue = pack.language
    facts: dict[tuple, Fact] = {}
    for page in site.html_pages():
        for ctx in _contexts(page):
            for fact in _prices(page, ctx, pack):
                key = ("price", *(fact.attrs[k] for k in ("medicine", "strength", "amount", "currency", "pack_size")))
                facts.setdefault(key, fact)
            for count, start, end in units_of(pack).bonuses(ctx.text):
                attrs = {"count": count, "status": cue.status(ctx.text, start, end, ctx.heading)}
                facts.setdefault(
                    ("bonus_pills", count, ctx.text),
                    Fact("bonus_pills", count, attrs, evidence(page, ctx.text, ctx.where, start, end)),
                )
            for percent, start, end in _discounts(pack, ctx.text):
                attrs = {"percent": percent, "status": cue.status(ctx.text, start, end, ctx.heading)}
                facts.setdefault(
                    ("discount", percent, ctx.text),
                    Fact("discount", percent, attrs, evidence(page, ctx.text, ctx.where, start, end)),
                )
    return list(facts.values())


def _discount_pattern(pack: RulePack) -> regex.Pattern:
    """A percentage off, on folded text: "20% off", "save up to 30%", "-15%"."""
    lex = pack.lexicon
    names = ("discount_after_percent", "discount_save", "discount_up_to")
    off, save, up_to = (lex.alternation(name, folded=True) for name in names)
    return regex.compile(
        rf"(?:^|[^\pL\pN_-])(?P<a1>(?P<p1>\d{{1,2}})\s?%\s?{off})"
        rf"|(?:^|[^\pL\pN_])(?P<a2>{save}\s+(?:{up_to}\s+)?(?P<p2>\d{{1,2}})\s?%)"
        rf"|(?:^|\s)(?P<a3>[-–](?P<p3>\d{{1,2}})\s?%)",
        RE2_OPTIONS,
    )


def _discounts(pack: RulePack, text: str) -> Iterator[tuple[int, int, int]]:
    """(percent, start, end) of each discount in the text."""
    program = pack.compiled("discount", _discount_pattern)
    for m in program.finditer(fold(text)):
        group = next(g for g in ("a1", "a2", "a3") if m.group(g) is not None)
        start, end = m.span(program.groupindex[group])
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            continue  # "20% offer", "-15%x": not a discount
        yield int(next(g for g in m.group("p1", "p2", "p3") if g)), start, end


def _contexts(page: Page) -> Iterator[Context]:
    """Blocks, with table cells joined into rows (and the header row kept), and the text around each."""
    blocks = page.blocks
    holders = [_holders(block) for block in blocks]
    parents: dict[object, list[Block]] = {}
    rows: dict[object, list[Block]] = {}
    for block, (parent, row, _) in zip(blocks, holders, strict=True):
        parents.setdefault(parent, []).append(block)
        if row is not None:
            rows.setdefault(row, []).append(block)
    heading = ""
    title = page.title if page.role == "product" else ""
    done_rows: set[object] = set()
    headers: dict[object, list[str]] = {}
    label = ""  # the last short text before a table: often the name of what the table prices
    for block, (parent, row, table) in zip(blocks, holders, strict=True):
        if block.tag in ("h1", "h2", "h3", "h4"):
            heading = block.text
        if row is not None:
            if row in done_rows:
                continue
            done_rows.add(row)
            cells = [b.text for b in rows[row]]
            if not any(PRICE_HINT.search(c) for c in cells):
                headers.setdefault(table, cells)
                continue
            yield Context(
                " | ".join(cells), rows[row][0], "row", [label, heading, title], cells, headers.get(table),
                f"{heading} | {page.title}",
            )  # fmt: skip
            continue
        if len(block.text) <= SHORT_LABEL:
            label = block.text
        siblings = parents.get(parent, [])
        card = " | ".join(b.text for b in siblings if b is not block) if len(siblings) <= MAX_CARD_BLOCKS else ""
        yield Context(block.text, block, "block", [card, heading, title], heading=f"{heading} | {page.title}")


def _holders(block: Block) -> tuple[object, object | None, object | None]:
    """The block's parent, table row and table, as its locator names them: a row or table above the element's
    nearest id is not the block's (a layout table around a whole column is not a price table)."""
    path = located_path(block.element)
    if not path.nodes:
        return "", None, None
    top = path.top_node if path.top_node is not None else path.top  # past the depth limit, "…" stands for it
    parent = path.nodes[1] if len(path.nodes) > 1 else top
    at = next((i for i, node in enumerate(path.nodes) if node.tag == "tr"), None)
    if at is None:
        return parent, None, None
    above = [node for node in path.nodes[at + 1 :] if node.tag not in ("thead", "tbody", "tfoot")]
    table = above[0] if above else top
    return parent, path.nodes[at], table


def _prices(page: Page, ctx: Context, rules: RulePack) -> Iterator[Fact]:
    text = ctx.text
    money = [m for m in rules.prices.find(text) if not _excluded(rules.lexicon, text, m)]
    if not money:
        return
    if ctx.kind == "row":
        yield from _row_price(page, ctx, money, rules)
        return
    for m in money:
        pack, unit, per_unit = _pack(rules, text, m)
        yield _fact(page, ctx, m, m.amount, pack, unit, per_unit, rules)


def _excluded(lex: Lexicon, text: str, m: Money) -> bool:
    after = text[m.end : m.end + 20]
    return (
        lex.matcher("price_not_before").closing(text[max(0, m.start - 30) : m.start])
        or after.startswith("+")
        or lex.matcher("price_not_after").opening(after)
    )


def _pack(rules: RulePack, text: str, m: Money) -> tuple[int | None, str | None, float | None]:
    """(pack size, unit, per-unit price) read around one price in a text."""
    lex, units = rules.lexicon, units_of(rules)
    before, after = text[max(0, m.start - 40) : m.start], text[m.end : m.end + 40]
    if (per := units.per(after)) is not None:
        return None, per or None, m.amount
    if lex.matcher("per_unit_after").opening(after):
        return None, None, m.amount
    folded_before = fold(before)
    if x := units.x_before.search(folded_before):
        return int(x.group("n")), units.kind(x.group("unit")), m.amount
    for found in (units.for_after.match(fold(after)), units.n_before.search(folded_before)):
        if found and int(found.group("n")) > 0:
            n = int(found.group("n"))
            return n, units.kind(found.group("unit")), round(m.amount / n, 4)
    pack, unit, _ = _single_device(lex, text, units)
    return pack, unit, (m.amount if pack else None)


def _single_device(lex: Lexicon, text: str, units: Units) -> tuple[int | None, str | None, float | None]:
    """ "Ozempic 1mg pen $49": one pen, vial or syringe when named in the singular with no count."""
    accessory = lex.matcher("device_accessory")
    for hit in lex.matcher("single_device").finditer(text):
        if not accessory.opening(text[hit.end :]):
            return 1, units.kind(text[hit.start : hit.end]), None
    return None, None, None


def _row_price(page: Page, ctx: Context, money: list[Money], rules: RulePack) -> Iterator[Fact]:
    """One price per table row: the pack price, with the per-unit price from its column or by division."""
    lex, units = rules.lexicon, units_of(rules)
    cells, headers = ctx.cells or [], ctx.headers or []
    text = ctx.text
    pack_match = units.pack_of.search(fold(text))
    pack = int(next(g for g in pack_match.group("n", "n2", "n3") if g)) if pack_match else None
    unit = units.kind(pack_match.group("unit")) if pack_match else None
    per_unit_price, total = None, None
    offsets = _cell_offsets(cells)
    for m in money:
        column = next((i for i, (s, e) in enumerate(offsets) if s <= m.start < e), None)
        header = headers[column] if headers and column is not None and column < len(headers) else ""
        after = text[m.end : m.end + 20]
        if lex.matcher("other_price_header").search(header):
            continue  # "US retail", "RRP", "You save": not what this seller charges
        if (
            lex.matcher("per_unit_header").search(header)
            or units.per(after) is not None
            or lex.matcher("per_unit_after").opening(after)
        ):
            per_unit_price = per_unit_price or m
        else:
            total = total or m
    if total is None and per_unit_price is None:
        return
    if total is not None and per_unit_price is None and pack and len(money) > 1:
        for m in money:  # a second price that is the first divided by the pack size is its per-unit price
            if m is not total and abs(total.amount / pack - m.amount) <= 0.15 * m.amount:
                per_unit_price = m
    main = total or per_unit_price
    if pack is None:
        pack, unit, _ = _single_device(lex, text, units)
    if per_unit_price is not None:
        per_unit = per_unit_price.amount
    elif pack:
        per_unit = round(main.amount / pack, 4)
    else:
        per_unit = None
    yield _fact(page, ctx, main, main.amount, pack, unit, per_unit, rules)


def _cell_offsets(cells: list[str]) -> list[tuple[int, int]]:
    offsets, pos = [], 0
    for cell in cells:
        offsets.append((pos, pos + len(cell)))
        pos += len(cell) + 3  # " | "
    return offsets


def _fact(
    page: Page,
    ctx: Context,
    m: Money,
    amount: float,
    pack: int | None,
    unit: str | None,
    per_unit: float | None,
    rules: RulePack,
) -> Fact:
    reader, index, cue = rules.prices, rules.medicines, rules.language
    mention, strength, folded = _medicine_near(ctx, m, index, units_of(rules))
    med = mention.medicine if mention else None
    brand = bool(
        mention
        and mention.kind == "brand"
        and not generic_before(rules.lexicon.matcher("generic_word"), folded, mention.start)
    )
    attrs: dict[str, Any] = {
        "amount": amount,
        "currency": m.currency,
        "currency_assumed": m.assumed,
        "pack_size": pack,
        "unit": unit,
        "per_unit": per_unit,
        "from": bool(rules.lexicon.matcher("price_from_before").closing(ctx.text[max(0, m.start - 25) : m.start])),
        "medicine": med.name if med else None,
        "name": mention.written if mention else None,
        "brand": brand,
        "strength": strength,
        "rx_class": ("otc" if med.dual_status else med.rx_class) if med else None,  # as offers and claims do
        "brand_only": med.brand_only if med else None,
        "reference_per_unit": None,
        "reference_market": None,
        "reference_source": None,
        "ratio": None,
        "context": ctx.kind,
        "status": cue.status(ctx.text, m.start, m.end, ctx.heading),
    }
    if med and per_unit is not None:
        ref = reader.reference(med.name, fold(mention.written) if brand else None, strength, m.currency, FAMILY[unit])
        if ref:
            attrs.update(
                reference_per_unit=ref["per_unit"],
                reference_market=ref["market"],
                reference_source=ref["source"],
                ratio=round(per_unit / ref["per_unit"], 3),
            )
    return Fact("price", amount, attrs, evidence(page, ctx.text, ctx.where, m.start, m.end))


def _medicine_near(
    ctx: Context, m: Money, index: MedicineIndex, units: Units
) -> tuple[Mention | None, str | None, str]:
    """The medicine named closest before the price in its text (else after it, else around it), and its strength."""
    folded, mentions = ctx.mentions(index, ctx.text)
    if mentions:
        before = mentions[: bisect_left([x.start for x in mentions], m.start)]
        mention = before[-1] if before else mentions[0]
        return mention, _strength_near(ctx, units, ctx.text, mention.end, m.start), folded
    if PRODUCT_NAME.search(ctx.text):  # "Xarelto 20mg | 90 | $165": a product the reference does not know
        return None, _strength_near(ctx, units, ctx.text, 0, m.start), folded
    for text in ctx.around:
        if not text:
            continue
        folded, mentions = ctx.mentions(index, text)
        if mentions:
            return (
                mentions[0],
                _strength_near(ctx, units, text, mentions[0].end, len(text))
                or _strength_near(ctx, units, ctx.text, 0, m.start),
                folded,
            )
    return None, _strength_near(ctx, units, ctx.text, 0, m.start), folded


def _strength_near(ctx: Context, units: Units, text: str, start: int, end: int) -> str | None:
    found = ctx.strengths(units, text)
    if not found:
        return None
    first = bisect_left(ctx.strengths_at(units, text), start)  # the first strength at or after `start`
    inside = first < len(found) and found[first].start <= max(end, start + 40)
    return str(found[first] if inside else found[0])
