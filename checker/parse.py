"""HTML parsing, kept behind this one module so the parser can be swapped (e.g. for lxml alone).

Every page is parsed exactly once into a `Document`: its visible text as blocks (each with the CSS path
of the element that holds it, for evidence), its links, images, forms and JSON-LD.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

MAX_JSON_LD_BYTES = 200_000
# BeautifulSoup costs about 4 s per MB of dense markup: a hostile page must not buy minutes of CPU. Beyond this
# size, scripts and styles (the bulk of big real pages) are dropped before parsing, then the rest is cut.
MAX_PARSE_BYTES = 1_000_000
MAX_LOCATOR = 300
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
ID_SELECTOR = re.compile(r"[A-Za-z][\w-]*")


class Located:
    """Something found on a page; its CSS locator is worked out only when evidence needs it."""

    element: Tag

    @property
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

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    def select(self, selector: str) -> list[Tag]:
        return self.root.select(selector) if self.root is not None else []


def clean(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def css_path(element: Tag) -> str:
    """A CSS selector that finds `element`: its nearest id, then tag:nth-of-type steps.

    Paths are memoised on the elements, and sibling positions worked out once per parent, so locating every
    element of a page costs time proportional to the page (and no recursion, however deep a hostile page nests).
    """
    pending: list[Tag] = []
    node: Tag = element
    while (path := node.__dict__.get("_rx_css_path")) is None:
        node_id = node.get("id")
        parent = node.parent
        if isinstance(node_id, str) and ID_SELECTOR.fullmatch(node_id):
            path = f"#{node_id}"
        elif node.name in ("html", "body") or parent is None or parent.name in (None, "[document]"):
            path = node.name
        else:
            pending.append(node)
            node = parent
            continue
        node.__dict__["_rx_css_path"] = path
        break
    for child in reversed(pending):
        path = f"{path} > {_step(child.parent, child)}"
        child.__dict__["_rx_css_path"] = path
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


def _text_blocks(body: Tag) -> list[Block]:
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
    for element, texts in pieces.values():
        text = clean("".join(texts).replace("\n", " \n "))
        if text:
            blocks.append(Block(text=text, tag=element.name, element=element))
    return blocks


def _json_ld(soup: BeautifulSoup) -> list[dict]:
    found: list[dict] = []
    for script in soup.find_all("script", type="application/ld+json"):
        raw = script.string or ""
        if len(raw) > MAX_JSON_LD_BYTES:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict):
                graph = item.get("@graph")
                found.extend(g for g in graph if isinstance(g, dict)) if isinstance(graph, list) else found.append(item)
    return found


def parse_html(body: bytes | str, url: str) -> Document:
    """Parse one HTML page. Never raises on malformed markup: the worst case is an empty Document."""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    if len(body) > MAX_PARSE_BYTES:
        body = SCRIPTS_AND_STYLES.sub(b"", body)[:MAX_PARSE_BYTES]
    soup = BeautifulSoup(body, "lxml")
    doc = Document(url=url, root=soup)
    base = url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(url, str(base_tag["href"]))
    if soup.title and soup.title.string:
        doc.title = clean(soup.title.string)
    html = soup.find("html")
    if isinstance(html, Tag):
        doc.lang = str(html.get("lang") or "").lower()
    description = soup.find("meta", attrs={"name": "description"})
    if isinstance(description, Tag):
        doc.meta_description = clean(str(description.get("content") or ""))
    doc.json_ld = _json_ld(soup)

    body_tag = soup.body or soup
    doc.blocks = _text_blocks(body_tag)
    for tag in _visible_nodes(body_tag):
        if not isinstance(tag, Tag):
            continue
        if tag.name == "a" and tag.get("href"):
            href = _absolute(base, str(tag["href"]))
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
            doc.images.append(
                Image(
                    src=_absolute(base, src) or src,
                    alt=clean(str(tag.get("alt") or "")),
                    title=clean(str(tag.get("title") or "")),
                    link_href=_absolute(base, str(anchor["href"])) if anchor else None,
                    element=tag,
                )
            )
        elif tag.name == "form":
            action = _absolute(base, str(tag.get("action") or "")) or url
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
    return doc


def _alt_text(tag: Tag) -> str:
    img = tag.find("img")
    return clean(str(img.get("alt") or "")) if isinstance(img, Tag) else ""


def _absolute(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("javascript:", "data:", "#")):
        return None
    if href.startswith(("mailto:", "tel:")):
        return href
    return urldefrag(urljoin(base, href))[0]
