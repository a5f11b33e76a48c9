"""HTML parsing, kept behind this one module so the parser can be swapped (e.g. for lxml alone).

Every page is parsed exactly once into a `Document`: its visible text as blocks (each with the CSS path
of the element that holds it, for evidence), its links, images, forms and JSON-LD.

Pages come from hostile sites. Parsing never raises for what a page holds: a malformed URL in a link, image,
form or `<base>`, or JSON-LD nested too deep, is skipped and named in `Document.notes`; the rest is judged.
The work one page may cost is bounded by `ParseLimits` (bytes parsed, visible text kept, JSON-LD size and depth,
locator depth); what a limit cut is named in `notes` too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

MAX_JSON_LD_BYTES = 200_000
MAX_JSON_LD_DEPTH = 64
# BeautifulSoup costs about 4 s per MB of dense markup: a hostile page must not buy minutes of CPU. Beyond this
# size, scripts and styles (the bulk of big real pages) are dropped before parsing, then the rest is cut.
MAX_PARSE_BYTES = 1_000_000
MAX_TEXT_CHARS = 100_000
MAX_BLOCKS = 5_000
MAX_LINKS = 2_000  # also the cap on images and on forms
MAX_LOCATOR = 300
MAX_LOCATOR_DEPTH = 40


@dataclass(frozen=True, kw_only=True)
class ParseLimits:
    """How much of one page is parsed and handed on to facts and rules (see README, "Limits")."""

    max_parse_bytes: int = MAX_PARSE_BYTES  # markup parsed; beyond it scripts and styles go first, then the rest
    max_text_chars: int = MAX_TEXT_CHARS  # visible text kept, in document order; the rest is not judged
    max_blocks: int = MAX_BLOCKS  # blocks of text kept (paragraphs, cells, list items...), in document order
    max_links: int = MAX_LINKS  # links kept, in document order; images and forms are capped alike
    max_json_ld_bytes: int = MAX_JSON_LD_BYTES  # a bigger JSON-LD block is skipped
    max_json_ld_depth: int = MAX_JSON_LD_DEPTH  # a JSON-LD block nested deeper is skipped
    max_locator_depth: int = MAX_LOCATOR_DEPTH  # steps of a CSS locator; deeper elements get "… > " + the last steps

    def __post_init__(self) -> None:
        if min(self.max_parse_bytes, self.max_text_chars, self.max_blocks, self.max_links, self.max_json_ld_bytes) < 0:
            raise ValueError("parse limits must be >= 0")
        if min(self.max_json_ld_depth, self.max_locator_depth) < 1:
            raise ValueError("max_json_ld_depth and max_locator_depth must be >= 1")


DEFAULT_PARSE_LIMITS = ParseLimits()
SCRIPTS_AND_STYLES = re.compile(rb"<(script|style)\b(?![^>]*application/ld\+json)[^>]*>.*?</\1\s*>", re.I | re.S)

INVISIBLE = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "iframe", "object"}
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
    "img", "br", "label",
}  # fmt: skip
SEPARATE = {"a", "button", "label", "option"}  # inline elements that are separate items on screen
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
SPACES = re.compile(r"\s+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
ID_SELECTOR = re.compile(r"[A-Za-z][\w-]*")


class Located:
    """Something found on a page; its CSS locator is worked out only when asked for, then kept."""

    element: Tag

    @cached_property
    def locator(self) -> str:
        return css_path(self.element)


@dataclass(frozen=True)
class Block(Located):
    """A run of visible text and the element that holds it."""

    text: str
    tag: str
    element: Tag = field(repr=False, compare=False)


@dataclass(frozen=True)
class Link(Located):
    href: str
    text: str
    element: Tag = field(repr=False, compare=False)
    title: str = ""


@dataclass(frozen=True)
class Image(Located):
    src: str
    alt: str
    title: str
    link_href: str | None
    element: Tag = field(repr=False, compare=False)


@dataclass(frozen=True)
class Form(Located):
    action: str
    method: str
    has_file_input: bool
    input_names: tuple[str, ...]
    text: str
    element: Tag = field(repr=False, compare=False)


@dataclass
class Document:
    url: str
    title: str = ""
    lang: str = ""
    meta_description: str = ""
    blocks: list[Block] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    json_ld: list[dict] = field(default_factory=list)
    root: Tag | None = None  # kept for CSS-selector checks
    notes: list[str] = field(default_factory=list)  # what was skipped or cut, one line each

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    def select(self, selector: str) -> list[Tag]:
        return self.root.select(selector) if self.root is not None else []


def clean(text: str) -> str:
    """Whitespace collapsed, and control characters (NUL...) dropped: no store or terminal wants them."""
    return SPACES.sub(" ", CONTROL.sub("", text)).strip()


def css_path(element: Tag, max_depth: int = MAX_LOCATOR_DEPTH) -> str:
    """A CSS selector that finds `element`: its nearest id, then tag:nth-of-type steps.

    At most `max_depth` steps are walked up (deeper, the locator starts "… > "), and nothing is stored on the
    elements but each parent's sibling positions, so locating elements costs memory proportional to the page,
    however deep a hostile page nests.
    """
    steps: list[str] = []
    node: Tag = element
    while True:
        node_id = node.attrs.get("id")
        parent = node.parent
        if isinstance(node_id, str) and ID_SELECTOR.fullmatch(node_id):
            steps.append(f"#{node_id}")
            break
        if node.name in ("html", "body") or parent is None or parent.name in (None, "[document]"):
            steps.append(node.name)
            break
        if len(steps) >= max_depth:
            steps.append("…")
            break
        steps.append(_step(parent, node))
        node = parent
    path = " > ".join(reversed(steps))
    return path if len(path) <= MAX_LOCATOR else "… > " + path[-MAX_LOCATOR:].split(" > ", 1)[-1]


def _step(parent: Tag, child: Tag) -> str:
    steps = parent.__dict__.get("_rx_child_steps")
    if steps is None:
        children = [c for c in parent.children if isinstance(c, Tag)]
        totals: dict[str, int] = {}
        for c in children:
            totals[c.name] = totals.get(c.name, 0) + 1
        seen: dict[str, int] = {}
        steps = {}
        for c in children:
            seen[c.name] = seen.get(c.name, 0) + 1
            steps[id(c)] = f"{c.name}:nth-of-type({seen[c.name]})" if totals[c.name] > 1 else c.name
        parent.__dict__["_rx_child_steps"] = steps
    return steps[id(child)]


def _is_hidden(tag: Tag) -> bool:
    style = tag.get("style")
    return tag.has_attr("hidden") or (isinstance(style, str) and bool(HIDDEN_STYLE.search(style)))


def _visible_nodes(root: Tag) -> Iterator[Tag | NavigableString]:
    """Visible tags and text in document order, skipping invisible and hidden subtrees. Iterative, so a page
    nested thousands of levels deep cannot exhaust the stack."""
    stack = [iter(root.children)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, Tag):
                if child.name in INVISIBLE or _is_hidden(child):
                    continue
                yield child
                stack.append(iter(child.children))
                break
            if type(child) is NavigableString:
                yield child
        else:
            stack.pop()


def _block_of(node: Tag) -> Tag:
    while node.name in INLINE and node.parent is not None:
        node = node.parent
    return node


def _text_blocks(body: Tag, limits: ParseLimits, notes: list[str]) -> list[Block]:
    pieces: dict[int, tuple[Tag, list[str]]] = {}
    last_parent: dict[int, Tag | None] = {}
    for node in _visible_nodes(body):
        if isinstance(node, Tag):
            if node.name != "br" or node.parent is None:
                continue
            text = "\n"
        else:
            text = str(node)
            if not text.strip():
                continue
        block = _block_of(node.parent)
        if id(block) not in pieces:
            if text == "\n":
                continue
            pieces[id(block)] = (block, [])
        texts = pieces[id(block)][1]
        previous = last_parent.get(id(block))
        crossing = previous is not None and previous is not node.parent
        if crossing and {previous.name, node.parent.name} & SEPARATE and not texts[-1][-1:].isspace():
            texts.append(" ")  # two links or buttons side by side: "Generic Viagra Buy now", not "ViagraBuy now"
        last_parent[id(block)] = node.parent
        texts.append(text)
    blocks = []
    kept = total = count = 0
    for element, texts in pieces.values():
        text = clean("".join(texts).replace("\n", " \n "))
        if not text:
            continue
        total += len(text)
        count += 1
        if kept < limits.max_text_chars and len(blocks) < limits.max_blocks:
            text = text[: limits.max_text_chars - kept]
            kept += len(text)
            blocks.append(Block(text=text, tag=element.name, element=element))
    if total > kept:
        notes.append(
            f"text cut: {total:,} characters of visible text in {count:,} blocks; "
            f"the first {kept:,} characters in {len(blocks):,} blocks are judged"
        )
    return blocks


def _json_ld(soup: BeautifulSoup, limits: ParseLimits, notes: list[str]) -> list[dict]:
    found: list[dict] = []
    for script in soup.find_all("script", type="application/ld+json"):
        raw = script.string or ""
        if len(raw) > limits.max_json_ld_bytes:
            notes.append(f"JSON-LD block of {len(raw):,} characters skipped (at most {limits.max_json_ld_bytes:,})")
            continue
        try:
            data = json.loads(raw)
        except RecursionError:
            data = None
        except ValueError:
            continue
        if data is None or _depth_over(data, limits.max_json_ld_depth):
            notes.append(f"JSON-LD block skipped: nested deeper than {limits.max_json_ld_depth} levels")
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict):
                graph = item.get("@graph")
                found.extend(g for g in graph if isinstance(g, dict)) if isinstance(graph, list) else found.append(item)
    return found


def _depth_over(data: object, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False


def parse_html(body: bytes | str, url: str, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> Document:
    """Parse one HTML page. Never raises for what the page holds: the worst case is an empty Document whose
    `notes` say why."""
    try:
        return _parse(body, url, limits)
    except (RecursionError, ValueError, TypeError, AttributeError, LookupError, MemoryError) as exc:
        # the parser's own faults on input nobody foresaw: the page is unreadable, the site is still judged
        return Document(url=url, notes=[f"page could not be parsed ({type(exc).__name__}); its content is ignored"])


def _parse(body: bytes | str, url: str, limits: ParseLimits) -> Document:
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    notes: list[str] = []
    if len(body) > limits.max_parse_bytes:
        size = len(body)
        body = SCRIPTS_AND_STYLES.sub(b"", body)
        if len(body) > limits.max_parse_bytes:
            body = body[: limits.max_parse_bytes]
            notes.append(f"markup cut: {size:,} bytes, the first {limits.max_parse_bytes:,} without scripts parsed")
    soup = BeautifulSoup(body, "lxml")
    doc = Document(url=url, root=soup, notes=notes)
    base = url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        href = str(base_tag["href"]).strip()
        joined = _join(url, href)
        if joined is None:
            notes.append(f"malformed URL in <base href> skipped: {href[:80]!r}")
        base = joined or url
    if soup.title and soup.title.string:
        doc.title = clean(soup.title.string)
    html = soup.find("html")
    if isinstance(html, Tag):
        doc.lang = str(html.get("lang") or "").lower()
    description = soup.find("meta", attrs={"name": "description"})
    if isinstance(description, Tag):
        doc.meta_description = clean(str(description.get("content") or ""))
    doc.json_ld = _json_ld(soup, limits, notes)

    body_tag = soup.body or soup
    doc.blocks = _text_blocks(body_tag, limits, notes)
    bad_urls: list[str] = []
    over = {"links": 0, "images": 0, "forms": 0}
    for tag in _visible_nodes(body_tag):
        if not isinstance(tag, Tag) or tag.name not in ("a", "img", "form"):
            continue
        kind = {"a": "links", "img": "images", "form": "forms"}[tag.name]
        if len(getattr(doc, kind)) >= limits.max_links:
            over[kind] += 1
            continue
        if tag.name == "a" and tag.get("href"):
            href = _absolute(base, str(tag["href"]), bad_urls)
            if href:
                doc.links.append(
                    Link(
                        href=href,
                        text=clean(tag.get_text(" ")) or _alt_text(tag),
                        element=tag,
                        title=clean(str(tag.get("title") or "")),
                    )
                )
        elif tag.name == "img":
            src = str(tag.get("src") or tag.get("data-src") or "")
            anchor = tag.find_parent("a", href=True)
            known_bad = len(bad_urls)
            absolute_src = _absolute(base, src, bad_urls)
            doc.images.append(
                Image(
                    src=absolute_src or ("" if len(bad_urls) > known_bad else src),
                    alt=clean(str(tag.get("alt") or "")),
                    title=clean(str(tag.get("title") or "")),
                    link_href=_absolute(base, str(anchor["href"]), []) if anchor else None,
                    element=tag,
                )
            )
        elif tag.name == "form":
            action = _absolute(base, str(tag.get("action") or ""), bad_urls) or url
            doc.forms.append(
                Form(
                    action=action,
                    method=str(tag.get("method") or "get").lower(),
                    has_file_input=tag.find("input", attrs={"type": "file"}) is not None,
                    input_names=tuple(
                        str(i.get("name")) for i in tag.find_all(["input", "select", "textarea"]) if i.get("name")
                    ),
                    text=clean(tag.get_text(" "))[:500],
                    element=tag,
                )
            )
    for kind, skipped in over.items():
        if skipped:
            notes.append(f"{kind} cut: the first {limits.max_links:,} kept, {skipped:,} more not judged")
    if bad_urls:
        shown = ", ".join(repr(u[:80]) for u in bad_urls[:3])
        notes.append(f"{len(bad_urls)} malformed URL(s) skipped in links, images or forms: {shown}")
    return doc


def _alt_text(tag: Tag) -> str:
    img = tag.find("img")
    return clean(str(img.get("alt") or "")) if isinstance(img, Tag) else ""


def _join(base: str, href: str) -> str | None:
    """`href` made absolute against `base`, without its fragment; None when either is malformed (an unclosed
    IPv6 bracket, a port out of range) and no fetch could use it."""
    try:
        absolute = urldefrag(urljoin(base, href))[0]
        urlsplit(absolute).port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        return None
    return absolute


def _absolute(base: str, href: str, bad: list[str]) -> str | None:
    """The absolute URL of `href`, or None for none (empty, javascript:, data:, #...) or a malformed one, which
    is added to `bad`."""
    href = href.strip()
    if not href or href.startswith(("javascript:", "data:", "#")):
        return None
    if href.startswith(("mailto:", "tel:")):
        return href
    absolute = _join(base, href)
    if absolute is None:
        bad.append(href)
    return absolute
