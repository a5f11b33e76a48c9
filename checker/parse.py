"""HTML parsing with lxml, kept behind this one module; BeautifulSoup only for CSS-selector checks.

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

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from lxml import etree
from lxml.etree import _Element

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
RUBY = {"rt", "rp"}  # ruby annotations: their text is not the page's text
NOT_TEXT = ("script", "style", "template", *RUBY)  # nor is the text of these, wherever they are
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
SPACES = re.compile(r"\s+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
ID_SELECTOR = re.compile(r"[A-Za-z][\w-]*")


class Located:
    """Something found on a page; its CSS locator is worked out only when asked for, then kept."""

    element: _Element
    steps: _Steps

    @cached_property
    def locator(self) -> str:
        return css_path(self.element, steps=self.steps)


@dataclass(frozen=True)
class Block(Located):
    """A run of visible text and the element that holds it."""

    text: str
    tag: str
    element: _Element = field(repr=False, compare=False)
    steps: _Steps = field(repr=False, compare=False)


@dataclass(frozen=True)
class Link(Located):
    href: str
    text: str
    element: _Element = field(repr=False, compare=False)
    steps: _Steps = field(repr=False, compare=False)
    title: str = ""


@dataclass(frozen=True)
class Image(Located):
    src: str
    alt: str
    title: str
    link_href: str | None
    element: _Element = field(repr=False, compare=False)
    steps: _Steps = field(repr=False, compare=False)


@dataclass(frozen=True)
class Form(Located):
    action: str
    method: str
    has_file_input: bool
    input_names: tuple[str, ...]
    text: str
    element: _Element = field(repr=False, compare=False)
    steps: _Steps = field(repr=False, compare=False)


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
    root: _Element | None = None  # the lxml tree the page was read from
    notes: list[str] = field(default_factory=list)  # what was skipped or cut, one line each
    markup: bytes = field(default=b"", repr=False)  # what was parsed, for CSS-selector checks

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    @cached_property
    def soup(self) -> BeautifulSoup | None:
        """The page as BeautifulSoup, built only for pages a CSS-selector check reads (soupsieve needs it)."""
        return BeautifulSoup(self.markup, "lxml") if self.markup else None

    def select(self, selector: str) -> list[Tag]:
        return self.soup.select(selector) if self.soup is not None else []


def clean(text: str) -> str:
    """Whitespace collapsed, and control characters (NUL...) dropped: no store or terminal wants them."""
    return SPACES.sub(" ", CONTROL.sub("", text)).strip()


class _Steps:
    """Each located element's step below its parent (`tag` or `tag:nth-of-type(n)`), worked out once per parent.

    Keeps the children it has seen, so their ids stay theirs (and lxml hands back the same element objects)."""

    def __init__(self) -> None:
        self._of: dict[int, tuple[list, dict[int, str]]] = {}

    def step(self, parent: _Element | Tag, child: _Element | Tag) -> str:
        known = self._of.get(id(parent))
        if known is None:
            children = _element_children(parent)
            totals: dict[str, int] = {}
            for c in children:
                name = _name(c)
                totals[name] = totals.get(name, 0) + 1
            seen: dict[str, int] = {}
            steps = {}
            for c in children:
                name = _name(c)
                seen[name] = seen.get(name, 0) + 1
                steps[id(c)] = f"{name}:nth-of-type({seen[name]})" if totals[name] > 1 else name
            known = self._of[id(parent)] = ([parent, *children], steps)
        return known[1][id(child)]


def _name(node: _Element | Tag) -> str:
    return node.name if isinstance(node, Tag) else node.tag


def _element_children(node: _Element | Tag) -> list:
    if isinstance(node, Tag):
        return [c for c in node.children if isinstance(c, Tag)]
    return [c for c in node if isinstance(c.tag, str)]


def _parent(node: _Element | Tag) -> _Element | Tag | None:
    if isinstance(node, Tag):
        parent = node.parent
        return None if parent is None or parent.name in (None, "[document]") else parent
    return node.getparent()


def css_path(element: _Element | Tag, max_depth: int = MAX_LOCATOR_DEPTH, steps: _Steps | None = None) -> str:
    """A CSS selector that finds `element` (of the lxml tree, or of `Document.soup`): its nearest id, then
    tag:nth-of-type steps.

    At most `max_depth` steps are walked up (deeper, the locator starts "… > "), and nothing is kept but each
    parent's sibling positions (in `steps`, shared by the elements of one page), so locating elements costs memory
    proportional to the page, however deep a hostile page nests.
    """
    steps = steps or _Steps()
    path = located_path(element, max_depth)
    names = [steps.step(_parent(node), node) for node in path.nodes]  # type: ignore[arg-type]
    joined = " > ".join(reversed([*names, path.top]))
    return joined if len(joined) <= MAX_LOCATOR else "… > " + joined[-MAX_LOCATOR:].split(" > ", 1)[-1]


@dataclass(frozen=True)
class LocatedPath:
    """The elements a locator names, from the element up: `nodes` by their position, then `top` ("#id", "html",
    "body", or "…" past the depth limit), which is `top_node` (None for "…")."""

    nodes: list
    top: str
    top_node: _Element | Tag | None


def located_path(element: _Element | Tag, max_depth: int = MAX_LOCATOR_DEPTH) -> LocatedPath:
    """The walk up the tree that `css_path` writes out, without the writing: for code that asks what holds an
    element (its table row, its parent) as its locator would say, at the cost of a few steps up."""
    nodes: list = []
    node = element
    while True:
        node_id = node.get("id")
        parent = _parent(node)
        if isinstance(node_id, str) and ID_SELECTOR.fullmatch(node_id):
            return LocatedPath(nodes, f"#{node_id}", node)
        if _name(node) in ("html", "body") or parent is None:
            return LocatedPath(nodes, _name(node), node)
        if len(nodes) >= max_depth:
            return LocatedPath(nodes, "…", None)
        nodes.append(node)
        node = parent


def _is_hidden(element: _Element) -> bool:
    if element.get("hidden") is not None:
        return True
    style = element.get("style")
    return style is not None and bool(HIDDEN_STYLE.search(style))


def _visible(root: _Element) -> Iterator[tuple[_Element, str | None, bool]]:
    """What a reader sees below `root`, in document order: (element, None, in_ruby) for each visible element, and
    (parent, text, False) for each run of text, skipping invisible and hidden subtrees, comments, and the text of
    ruby annotations (which BeautifulSoup does not count as text either). Iterative, so a page nested thousands of
    levels deep cannot exhaust the stack."""
    if root.text:
        yield root, root.text, False
    stack: list[tuple[_Element, Iterator[_Element], bool]] = [(root, iter(root), False)]
    while stack:
        parent, children, ruby = stack[-1]
        for child in children:
            tag = child.tag
            if isinstance(tag, str) and tag not in INVISIBLE and not _is_hidden(child):
                inner = ruby or tag in RUBY
                yield child, None, inner
                if child.text and not inner:
                    yield child, child.text, False
                stack.append((child, iter(child), inner))
                break
            if child.tail and not ruby:
                yield parent, child.tail, False
        else:
            stack.pop()
            if stack and parent.tail and not stack[-1][2]:
                yield stack[-1][0], parent.tail, False


def _text_of(element: _Element, in_ruby: bool) -> str:
    """The element's text as BeautifulSoup's `get_text(" ")` gives it: every run of text below it, hidden or not,
    but none of comments, scripts, styles, templates or ruby annotations."""
    if in_ruby:
        return ""
    if next(element.iter(*NOT_TEXT), None) is None:
        return " ".join(element.itertext())
    texts = [element.text or ""]
    stack = [(element, iter(element))]
    while stack:
        for child in stack[-1][1]:
            if isinstance(child.tag, str) and child.tag not in NOT_TEXT:
                texts.append(child.text or "")
                stack.append((child, iter(child)))
                break
            texts.append(child.tail or "")
        else:
            done = stack.pop()[0]
            if stack:
                texts.append(done.tail or "")
    return " ".join(texts)


def _block_of(node: _Element) -> _Element:
    while node.tag in INLINE:
        parent = node.getparent()
        if parent is None:
            break
        node = parent
    return node


def _text_blocks(
    items: list[tuple[_Element, str]], limits: ParseLimits, notes: list[str], steps: _Steps
) -> list[Block]:
    pieces: dict[int, tuple[_Element, list[str]]] = {}
    last_parent: dict[int, _Element | None] = {}
    for parent, text in items:
        block = _block_of(parent)
        if id(block) not in pieces:
            if text == "\n":
                continue
            pieces[id(block)] = (block, [])
        texts = pieces[id(block)][1]
        previous = last_parent.get(id(block))
        crossing = previous is not None and previous is not parent
        if crossing and {previous.tag, parent.tag} & SEPARATE and not texts[-1][-1:].isspace():
            texts.append(" ")  # two links or buttons side by side: "Generic Viagra Buy now", not "ViagraBuy now"
        last_parent[id(block)] = parent
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
            blocks.append(Block(text=text, tag=element.tag, element=element, steps=steps))
    if total > kept:
        notes.append(
            f"text cut: {total:,} characters of visible text in {count:,} blocks; "
            f"the first {kept:,} characters in {len(blocks):,} blocks are judged"
        )
    return blocks


def _json_ld(root: _Element, limits: ParseLimits, notes: list[str]) -> list[dict]:
    found: list[dict] = []
    for script in root.iter("script"):
        if script.get("type") != "application/ld+json":
            continue
        raw = (script.text or "") if len(script) == 0 else ""
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
    root = _tree(body)
    if root is None:
        return Document(url=url, notes=notes)
    steps = _Steps()
    doc = Document(url=url, root=root, notes=notes, markup=body)
    base = url
    base_tag = next((b for b in root.iter("base") if b.get("href") is not None), None)
    if base_tag is not None:
        href = base_tag.get("href", "").strip()
        joined = _join(url, href)
        if joined is None:
            notes.append(f"malformed URL in <base href> skipped: {href[:80]!r}")
        base = joined or url
    title = next(root.iter("title"), None)
    if title is not None and len(title) == 0 and title.text:
        doc.title = clean(title.text)
    html = root if root.tag == "html" else next(root.iter("html"), None)
    if html is not None:
        doc.lang = (html.get("lang") or "").lower()
    description = next((m for m in root.iter("meta") if m.get("name") == "description"), None)
    if description is not None:
        doc.meta_description = clean(description.get("content") or "")
    doc.json_ld = _json_ld(root, limits, notes)

    body_tag = next(root.iter("body"), root)
    texts: list[tuple[_Element, str]] = []
    found: list[tuple[_Element, bool]] = []
    for element, text, in_ruby in _visible(body_tag):
        if text is not None:
            if text.strip():
                texts.append((element, text))
        elif element.tag == "br":
            parent = element.getparent()
            if parent is not None:
                texts.append((parent, "\n"))
        elif element.tag in ("a", "img", "form"):
            found.append((element, in_ruby))
    doc.blocks = _text_blocks(texts, limits, notes, steps)
    bad_urls: list[str] = []
    resolver = _Resolver(base)
    over = {"links": 0, "images": 0, "forms": 0}
    for tag, in_ruby in found:
        kind = {"a": "links", "img": "images", "form": "forms"}[tag.tag]
        if len(getattr(doc, kind)) >= limits.max_links:
            over[kind] += 1
            continue
        if tag.tag == "a" and tag.get("href"):
            href = resolver.absolute(tag.get("href"), bad_urls)
            if href:
                doc.links.append(
                    Link(
                        href=href,
                        text=clean(_text_of(tag, in_ruby)) or _alt_text(tag),
                        element=tag,
                        steps=steps,
                        title=clean(tag.get("title") or ""),
                    )
                )
        elif tag.tag == "img":
            src = tag.get("src") or tag.get("data-src") or ""
            anchor = next((a for a in tag.iterancestors("a") if a.get("href") is not None), None)
            known_bad = len(bad_urls)
            absolute_src = resolver.absolute(src, bad_urls)
            doc.images.append(
                Image(
                    src=absolute_src or ("" if len(bad_urls) > known_bad else src),
                    alt=clean(tag.get("alt") or ""),
                    title=clean(tag.get("title") or ""),
                    link_href=resolver.absolute(anchor.get("href"), []) if anchor is not None else None,
                    element=tag,
                    steps=steps,
                )
            )
        elif tag.tag == "form":
            action = resolver.absolute(tag.get("action") or "", bad_urls) or url
            doc.forms.append(
                Form(
                    action=action,
                    method=(tag.get("method") or "get").lower(),
                    has_file_input=any(i.get("type") == "file" for i in tag.iter("input")),
                    input_names=tuple(i.get("name") for i in tag.iter("input", "select", "textarea") if i.get("name")),
                    text=clean(_text_of(tag, in_ruby))[:500],
                    element=tag,
                    steps=steps,
                )
            )
    for kind, skipped in over.items():
        if skipped:
            notes.append(f"{kind} cut: the first {limits.max_links:,} kept, {skipped:,} more not judged")
    if bad_urls:
        shown = ", ".join(repr(u[:80]) for u in bad_urls[:3])
        notes.append(f"{len(bad_urls)} malformed URL(s) skipped in links, images or forms: {shown}")
    return doc


def _tree(body: bytes) -> _Element | None:
    """The page's element tree, decoded as BeautifulSoup would: a byte-order mark, then the declared encoding, then
    a guessed one, then UTF-8, then Windows-1252, the first lxml accepts."""
    detector = EncodingDetector(body, is_html=True)
    for encoding in detector.encodings:
        try:
            root = _parse_tree(detector.markup, encoding, None)
            if root is not None and _AT_DEPTH_LIMIT(root):  # libxml2 builds no deeper: build it from the events
                root = _parse_tree(detector.markup, encoding, _EventTree())
            return root
        except (UnicodeDecodeError, LookupError, etree.ParserError):
            continue
    return None


def _parse_tree(markup: bytes, encoding: str, target: _EventTree | None) -> _Element | None:
    parser = etree.HTMLParser(recover=True, encoding=encoding, target=target)
    parser.feed(markup)
    try:
        return parser.close()
    except etree.XMLSyntaxError:  # nothing to parse (only whitespace or comments)
        return None


MAX_TREE_DEPTH = 256  # libxml2 builds trees this deep, and reports every parse event however deep
_AT_DEPTH_LIMIT = etree.XPath("boolean(" + "/*" * MAX_TREE_DEPTH + ")")


class _EventTree:
    """An lxml tree built from the parser's events, for a page nested deeper than `MAX_TREE_DEPTH`. Attributes lxml
    refuses (`xmlns:og`, odd characters) are dropped, odd tag names read as `unknown`, comments are left out (a
    comment between two runs of text in a link joins them without a space)."""

    def __init__(self) -> None:
        self.root: _Element | None = None
        self.open: list[_Element] = []
        self.last: _Element | None = None  # the element just closed, whose tail text comes next

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.root is not None and not self.open:
            return  # a second top-level element: libxml2 builds none either
        try:  # SubElement, not append: append walks up every ancestor (a cycle check), quadratic when deep
            element = etree.SubElement(self.open[-1], tag) if self.open else etree.Element(tag)
        except ValueError:
            element = etree.SubElement(self.open[-1], "unknown") if self.open else etree.Element("unknown")
        for key, value in attrib.items():
            try:
                element.set(key, value)
            except ValueError:
                continue
        if self.root is None:
            self.root = element
        self.open.append(element)
        self.last = None

    def end(self, tag: str) -> None:
        if self.open:
            self.last = self.open.pop()

    def data(self, text: str) -> None:
        if self.last is not None:
            self.last.tail = (self.last.tail or "") + text
        elif self.open:
            self.open[-1].text = (self.open[-1].text or "") + text

    def close(self) -> _Element | None:
        return self.root


def _alt_text(tag: _Element) -> str:
    img = next(tag.iter("img"), None)
    return clean(img.get("alt") or "") if img is not None else ""


def _join(base: str, href: str) -> str | None:
    """`href` made absolute against `base`, without its fragment; None when either is malformed (an unclosed
    IPv6 bracket, a port out of range) and no fetch could use it."""
    try:
        absolute = urldefrag(urljoin(base, href))[0]
        urlsplit(absolute).port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        return None
    return absolute


class _Resolver:
    """A page's URLs made absolute against its base, each distinct one joined once: a page repeats its menus'
    links, and joining is a third of the cost of parsing. What it remembers goes with the page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._joined: dict[str, str | None] = {}

    def absolute(self, href: str, bad: list[str]) -> str | None:
        """The absolute URL of `href`, or None for none (empty, javascript:, data:, #...) or a malformed one,
        which is added to `bad`."""
        href = href.strip()
        if not href or href.startswith(("javascript:", "data:", "#")):
            return None
        if href.startswith(("mailto:", "tel:")):
            return href
        if href not in self._joined:
            self._joined[href] = _join(self.base, href)
        absolute = self._joined[href]
        if absolute is None:
            bad.append(href)
        return absolute
