from rxcheck.parse import parse_html

HTML = b"""<html lang="en-GB"><head><title> Hartwell  Pharmacy </title>
<meta name="description" content="Your local pharmacy">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"Pharmacy","name":"Hartwell"}]}</script>
<script>var hidden = "no prescription needed";</script></head>
<body><div id="main"><h1>Welcome</h1><p>Prescription <b>required</b> for all POMs.<br>Call us.</p>
<ul><li>One</li><li>Two <a href="/contact">Contact us</a></li></ul>
<p hidden>secret keywords</p>
<a href="https://www.pharmacyregulation.org/registers/pharmacy/1123456"><img src="/gphc.png" alt="GPhC registered"></a>
<form action="http://pay.example.com/checkout" method="POST"><input type="file" name="rx"></form>
</div></body></html>"""


def test_parse_extracts_text_blocks_with_locators():
    doc = parse_html(HTML, "https://hartwell.example.co.uk/")
    texts = [b.text for b in doc.blocks]
    assert "Prescription required for all POMs. Call us." in texts
    assert "Two Contact us" in texts
    block = next(b for b in doc.blocks if b.text.startswith("Prescription"))
    assert block.locator == "#main > p:nth-of-type(1)"
    assert doc.select(block.locator)[0].get_text().startswith("Prescription")


def test_scripts_and_hidden_text_are_not_visible_text():
    doc = parse_html(HTML, "https://hartwell.example.co.uk/")
    assert "no prescription needed" not in doc.text
    assert "secret keywords" not in doc.text


def test_links_images_forms_and_json_ld():
    doc = parse_html(HTML, "https://hartwell.example.co.uk/")
    assert doc.title == "Hartwell Pharmacy" and doc.lang == "en-gb"
    assert [link.href for link in doc.links][0] == "https://hartwell.example.co.uk/contact"
    image = doc.images[0]
    assert image.alt == "GPhC registered"
    assert image.link_href == "https://www.pharmacyregulation.org/registers/pharmacy/1123456"
    form = doc.forms[0]
    assert form.action == "http://pay.example.com/checkout" and form.method == "post" and form.has_file_input
    assert doc.json_ld == [{"@type": "Pharmacy", "name": "Hartwell"}]


def test_malformed_markup_never_raises():
    doc = parse_html(b"<html><body><p>unclosed <div><a href='javascript:alert(1)'>x</a><img>", "https://x.example/")
    assert doc.links == [] and doc.images[0].src == ""
    assert parse_html(b"", "https://x.example/").blocks == []


def test_hostile_nesting_does_not_exhaust_the_stack():
    html = b"<html><body>" + b"<div>" * 5000 + b"<p>deep text</p>" + b"</div>" * 5000 + b"</body></html>"
    doc = parse_html(html, "https://x.example/")
    assert [b.text for b in doc.blocks] == ["deep text"]
    assert len(doc.blocks[0].locator) <= 310


def test_oversized_pages_lose_scripts_first_then_are_cut():
    script = b"<script>" + b"var x = 1;" * 150_000 + b"</script>"
    doc = parse_html(b"<html><head>" + script + b"</head><body><p>Hello</p></body></html>", "https://x.example/")
    assert [b.text for b in doc.blocks] == ["Hello"]
    dense = b"<html><body>" + b"<p>word</p>" * 200_000 + b"</body></html>"
    assert len(parse_html(dense, "https://x.example/").blocks) < 100_000


def test_adjacent_links_read_apart_but_styled_words_stay_whole():
    doc = parse_html(b"<div><a>Sildenafil 50mg</a><a>Buy now</a></div><p>pre<b>fix</b>ed</p>", "https://x.example/")
    assert [b.text for b in doc.blocks] == ["Sildenafil 50mg Buy now", "prefixed"]


def test_text_reads_as_beautifulsoup_read_it():
    page = b"""<html><body><p>Ruby <ruby>Kanji<rt>kan ji</rt></ruby> end<!-- note -->.</p>
    <a href="/a">Buy<!-- x -->now <script>var s;</script><span hidden>hidden</span></a>
    <p>caf\xc3\xa9</p></body></html>"""
    doc = parse_html(page, "https://x.example/")
    assert [b.text for b in doc.blocks] == ["Ruby end.", "Kanji", "Buynow", "café"]  # ruby annotations left out
    assert doc.links[0].text == "Buy now hidden"  # a link's text is all of it, hidden parts too


def test_pages_deeper_than_libxml2_builds_keep_ids_links_and_locators():
    deep = b"<div>" * 400 + b'<p id="deep">Buy <a href="/x" xmlns:og="y">here</a></p>' + b"</div>" * 400
    doc = parse_html(b'<html><body><div id="top">' + deep + b"</div></body></html>", "https://x.example/")
    assert [(b.text, b.locator) for b in doc.blocks] == [("Buy here", "#deep")]
    assert [(link.href, link.locator) for link in doc.links] == [("https://x.example/x", "#deep > a")]
    assert doc.select("#deep > a")[0].get_text() == "here"
