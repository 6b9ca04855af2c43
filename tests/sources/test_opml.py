"""read_opml: folders become tags, names unique, bad files refused with the file and place."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sources.opml import OpmlError, read_opml

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Analyst subscriptions</title></head>
  <body>
    <outline text="Middle East" title="Middle East">
      <outline text="Gulf">
        <outline type="rss" text="Reuters World" title="Reuters World"
                 xmlUrl="https://feeds.example/reuters/world" htmlUrl="https://reuters.example/"/>
        <outline type="rss" text="Al Jazeera" xmlUrl="https://feeds.example/aj"/>
      </outline>
      <outline type="rss" text="Reuters World" xmlUrl="https://feeds.example/reuters/mideast"/>
    </outline>
    <outline type="rss" title="  Defense   News " xmlUrl="https://feeds.example/defense"
             category="/Military/Air defense,Drones"/>
    <outline type="rss" xmlUrl="https://untitled.example/feed.xml"/>
    <outline text="Security">
      <outline type="rss" text="Al Jazeera (again)" xmlUrl="https://feeds.example/aj"/>
    </outline>
    <outline text="Empty folder"/>
  </body>
</opml>
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "feeds.opml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_feeds_with_folder_tags_and_unique_names(tmp_path: Path) -> None:
    feeds = read_opml(write(tmp_path, OPML))
    by_name = {f.name: f for f in feeds}
    assert [f.name for f in feeds] == [
        "Reuters World",
        "Al Jazeera",
        "Reuters World (2)",
        "Defense News",
        "untitled.example",
    ]
    assert by_name["Reuters World"].url == "https://feeds.example/reuters/world"
    assert by_name["Reuters World"].tags == ["Middle East", "Gulf"]
    assert by_name["Reuters World (2)"].tags == ["Middle East"]
    assert by_name["Defense News"].tags == ["Military", "Air defense", "Drones"]
    assert by_name["untitled.example"].tags == []


def test_the_same_url_twice_is_one_feed_with_both_tag_sets(tmp_path: Path) -> None:
    (aj,) = [f for f in read_opml(write(tmp_path, OPML)) if f.url == "https://feeds.example/aj"]
    assert aj.name == "Al Jazeera"
    assert aj.tags == ["Middle East", "Gulf", "Security"]


def test_defaults_come_from_feed_config(tmp_path: Path) -> None:
    feed = read_opml(write(tmp_path, OPML))[0]
    assert feed.enabled and feed.interval == 900


def test_an_opml_without_feeds_is_empty(tmp_path: Path) -> None:
    assert read_opml(write(tmp_path, '<opml version="1.0"><body/></opml>')) == []


def test_outlines_outside_the_body_are_ignored(tmp_path: Path) -> None:
    text = '<opml><head><outline xmlUrl="https://x.example/"/></head><body/></opml>'
    assert read_opml(write(tmp_path, text)) == []


def test_latin1_document(tmp_path: Path) -> None:
    text = '<?xml version="1.0" encoding="iso-8859-1"?><opml><body>'
    text += '<outline text="Caf\xe9" xmlUrl="https://cafe.example/rss"/></body></opml>'
    (feed,) = read_opml(write(tmp_path, text.encode("latin-1")))
    assert feed.name == "Café"


def test_bad_xml_names_the_file_and_place(tmp_path: Path) -> None:
    path = write(tmp_path, '<opml>\n<body>\n<outline text="x" xmlUrl="https://x/">\n</body></opml>')
    with pytest.raises(OpmlError) as err:
        read_opml(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not well-formed XML at line 4")
    assert "mismatched tag" in message


def test_not_an_opml_file(tmp_path: Path) -> None:
    with pytest.raises(OpmlError, match=r"not an OPML file \(root element is <rss>\)"):
        read_opml(write(tmp_path, "<rss><channel/></rss>"))


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY a "aaaaaaaaaa">\n'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
        '<opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>'
    )
    with pytest.raises(OpmlError, match="entity declarations are not allowed"):
        read_opml(write(tmp_path, laughs))


def test_external_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>\n'
        '<opml><body><outline text="&s;" xmlUrl="https://x.example/"/></body></opml>'
    )
    with pytest.raises(OpmlError, match="entity declarations are not allowed"):
        read_opml(write(tmp_path, xxe))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OpmlError, match="cannot read"):
        read_opml(tmp_path / "nope.opml")
