"""parse_feed on real captured feeds, feedparser's ill-formed and encoding cases, and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.sources.parse import ParsedFeed, parse_feed
from tests.sources.samples import FIXTURES, declared_content_type, sample

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
URL = "https://feeds.example/world.rss"


def parse(body: bytes, content_type: str | None = "application/rss+xml") -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    return parse_feed(body, feed_name="world", url=URL, headers=headers, fetched_at=NOW)


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>World desk</title>{channel}{items}</channel></rss>"
    ).encode()


# -- real captured feeds ---------------------------------------------------------------------


def test_iso_8859_1_feed_served_without_charset() -> None:
    parsed = parse(sample("real/encoding_ISO-8859-1.xml"))
    assert parsed.error is None
    assert parsed.title == "Golem.de" and parsed.encoding == "iso-8859-1"
    assert len(parsed.articles) == 40
    first = parsed.articles[0]
    assert first.title.startswith("Red Dead Redemption 2: Hinweise auf PC-Umsetzung")
    assert "Viele Spieler wünschen sich eine PC-Version" in first.summary
    assert first.published == datetime(2018, 10, 28, 12, 48, tzinfo=UTC)
    assert first.link is not None and first.link.startswith("https://www.golem.de/news/")


def test_windows_1251_feed_with_http_charset() -> None:
    parsed = parse(sample("real/encoding_WINDOWS-1251.xml"), "text/xml; charset=windows-1251")
    assert parsed.error is None and parsed.encoding == "windows-1251"
    first = parsed.articles[0]
    assert first.title == "Цитата #17703"
    # <br /> between the lines of a quote become line breaks in the text
    assert first.summary.splitlines()[:2] == [
        "xxx: есть у кого жаба программер",
        "xxx: кот немного пхп знает?",
    ]
    assert "<br />" in first.summary_html


def test_gb18030_feed() -> None:
    parsed = parse(sample("real/kc0011.rss"))
    assert parsed.encoding == "gb18030"
    assert parsed.articles[0].title == "建国35周年纪念，华表，和平鸽"
    assert parsed.articles[0].author == "大鱼儿"


def test_guardian_feed() -> None:
    parsed = parse(sample("real/guardian.rss"), "application/rss+xml; charset=utf-8")
    assert parsed.error is None and parsed.version == "rss20"
    assert parsed.title == "The Guardian"
    assert len(parsed.articles) == 55
    first = parsed.articles[0]
    assert first.title == "Trump State of the Union address promised unity but emphasized discord"
    assert first.author == "David Smith in Washington"
    assert first.tags[:2] == ("Donald Trump", "State of the Union address")
    assert first.summary.startswith("The president’s ‘new American moment’ speech")
    assert first.summary_html.startswith("<p>")
    assert "<" not in first.summary
    assert all(a.link and a.link.startswith("https://") for a in parsed.articles)
    assert len({a.id for a in parsed.articles}) == 55


def test_rss_090_rdf_feed_without_dates_uses_the_fetch_time() -> None:
    parsed = parse(sample("real/rdf_UTF8.xml"), "application/rdf+xml")
    assert parsed.version == "rss090" and len(parsed.articles) == 60
    first = parsed.articles[0]
    assert first.title == "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen"
    assert first.published == NOW
    assert first.id.endswith("-4205274.html")  # the wt_mc tracking parameter is not identity


# -- feedparser's ill-formed cases -----------------------------------------------------------

ILLFORMED = sorted(p.name for p in (FIXTURES / "illformed").glob("*.xml"))


@pytest.mark.parametrize("name", ILLFORMED)
def test_illformed_samples_never_raise_and_say_what_is_wrong(name: str) -> None:
    body = sample(f"illformed/{name}")
    parsed = parse(body, declared_content_type(body) or "application/xml")
    if name == "always_strip_doctype.xml":
        assert parsed.error is None and parsed.title == "found"
    else:
        assert parsed.error is not None
    for article in parsed.articles:
        assert article.title and article.id


def test_illformed_expectations() -> None:
    empty = parse(sample("illformed/rss_empty_document.xml"))
    assert empty.error is not None and empty.error.startswith("not a feed:")
    assert empty.version is None and empty.articles == []

    broken = parse(sample("illformed/aaa_illformed.xml"))
    assert broken.error is not None and broken.error.startswith("ill-formed feed: line 7")

    cdata = parse(sample("illformed/rss_incomplete_cdata.xml"))
    assert cdata.articles == [] and cdata.skipped == 1  # an entry with nothing in it

    amp = parse(sample("illformed/rss_item_link_corrupted_ampersands.xml"))
    (article,) = amp.articles
    assert article.link == "http://link/get?a=1&b=2"
    assert article.title == "http://link/get?a=1&b=2"  # no title, no text: the link names it


# -- encodings with the HTTP content-type each case is served with --------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "bozo"),
    [
        ("http_text_xml_charset_overrides_encoding.xml", "us-ascii", False),
        ("http_application_atom_xml_gb2312_charset.xml", "gb18030", False),
        ("http_text_xml_default.xml", "us-ascii", False),
        ("http_i18n.xml", "utf-8", False),
        ("big5.xml", "big5", False),
        ("utf-16le-bom.xml", "utf-16le", False),
        ("no_content_type_encoding.xml", "iso-8859-1", False),
        ("bozo_http_text_plain.xml", None, True),
    ],
)
def test_encoding_cases(name: str, encoding: str | None, bozo: bool) -> None:
    body = sample(f"encoding/{name}")
    parsed = parse(body, declared_content_type(body))
    assert (parsed.error is not None) == bozo, parsed.error
    if encoding:
        assert parsed.encoding == encoding


def test_encoding_titles_decode() -> None:
    body = sample("encoding/euc-kr.xml")
    assert parse(body, None).title == "\ub144"
    body = sample("encoding/http_i18n.xml")
    assert parse(body, declared_content_type(body)).title == "Iñtërnâtiônàlizætiøn"


def test_text_plain_is_reported() -> None:
    body = sample("encoding/bozo_http_text_plain.xml")
    assert parse(body, "text/plain").error == "text/plain is not an XML media type"


# -- entries → articles ----------------------------------------------------------------------


def test_entry_fields_become_clean_text_with_html_kept() -> None:
    body = rss(
        """<item><title>Drones hit &lt;b&gt;base&lt;/b&gt;  in   Syria</title>
        <link>/world/2024/drones?utm_source=rss</link>
        <guid isPermaLink="false">story-1</guid>
        <dc:creator>Jane  Doe</dc:creator>
        <category>Middle East</category><category>Middle East</category><category>Iran</category>
        <pubDate>Tue, 05 Mar 2024 10:00:00 +0200</pubDate>
        <description>&lt;p&gt;Militias &amp;amp; drones.&lt;/p&gt;
        &lt;script&gt;evil()&lt;/script&gt;</description>
        <content:encoded><![CDATA[<h2>Attack</h2><p>The Patriot&nbsp;battery
        <a href="/x">fired</a>.</p><ul><li>one</li><li>two</li></ul>]]></content:encoded>
        </item>"""
    )
    (article,) = parse(body).articles
    assert article.feed == "world"
    assert article.title == "Drones hit base in Syria"  # RSS titles may carry escaped HTML
    assert article.link == "https://feeds.example/world/2024/drones?utm_source=rss"
    assert article.id == "story-1"
    assert article.author == "Jane Doe"
    assert article.tags == ("Middle East", "Iran")
    assert article.published == datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    assert article.summary == "Militias & drones."
    assert "script" not in article.summary_html  # feedparser's sanitiser ran
    assert article.content == "Attack\n\nThe Patriot battery fired.\n\none\ntwo"
    assert '<a href="https://feeds.example/x">' in article.content_html  # resolved


def test_atom_content_without_summary_is_content_only() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><id>tag:news.example,2024:1</id><title type="html">Qatar &amp;amp; talks</title>
    <link rel="alternate" href="https://news.example/1"/>
    <updated>2024-01-02T03:04:05Z</updated>
    <content type="html">&lt;p&gt;Qatar acts as intermediary.&lt;/p&gt;</content></entry></feed>"""
    parsed = parse(body, "application/atom+xml")
    (article,) = parsed.articles
    assert parsed.version == "atom10"
    assert article.id == "tag:news.example,2024:1"
    assert article.title == "Qatar & talks"
    assert article.summary == "" and article.summary_html == ""
    assert article.content == "Qatar acts as intermediary."
    assert article.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_unsafe_links_are_dropped() -> None:
    body = rss(
        "<item><title>a</title><link>javascript:alert(1)</link></item>"
        "<item><title>b</title><link>data:text/html,hi</link></item>"
    )
    assert [a.link for a in parse(body).articles] == [None, None]


def test_dates_missing_unparseable_or_in_the_future() -> None:
    future = (NOW + timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = rss(
        "<item><title>none</title><guid>1</guid></item>"
        "<item><title>bad</title><guid>2</guid><pubDate>yesterday-ish</pubDate></item>"
        f"<item><title>future</title><guid>3</guid><pubDate>{future}</pubDate></item>"
    )
    assert [a.published for a in parse(body).articles] == [NOW, NOW, NOW]


def test_untitled_entries_are_titled_from_their_text_and_empty_ones_skipped() -> None:
    long_text = "Word " * 60
    body = rss(
        "<item><description>&lt;p&gt;Short note.&lt;p&gt;Second line.</description>"
        "<guid>1</guid></item>"
        f"<item><description>{long_text}</description><guid>2</guid></item>"
        '<item><guid isPermaLink="false">3</guid></item>'
        "<item></item>"
    )
    parsed = parse(body)
    titles = [a.title for a in parsed.articles]
    assert titles[0] == "Short note."
    assert titles[1].endswith("…") and len(titles[1]) <= 100
    assert parsed.skipped == 2


def test_an_entry_listed_twice_is_one_article() -> None:
    item = "<item><title>t</title><link>https://news.example/a</link></item>"
    assert len(parse(rss(item + item)).articles) == 1


def test_ids_fall_back_from_guid_to_canonical_link_to_a_hash() -> None:
    body = rss(
        '<item><title>with guid</title><guid isPermaLink="false">abc-1</guid></item>'
        "<item><title>with link</title>"
        "<link>HTTPS://News.Example:443/a?b=2&amp;a=1&amp;utm_medium=rss#top</link></item>"
        "<item><title>only a title</title><description>text</description></item>"
    )
    ids = [a.id for a in parse(body).articles]
    assert ids[0] == "abc-1"
    assert ids[1] == "https://news.example/a?a=1&b=2"
    assert ids[2].startswith("sha256:")
    again = [a.id for a in parse(body).articles]
    assert again == ids


def test_ttl_is_read() -> None:
    assert parse(rss("", channel="<ttl>45</ttl>")).ttl_minutes == 45
    assert parse(rss("", channel="<ttl>soon</ttl>")).ttl_minutes is None


def test_html_page_is_not_a_feed() -> None:
    page = b"<html><head><title>x</title></head><body><p>Hello</p></body></html>"
    assert parse(page, "text/html").error == "not a feed: text/html page"
    assert parse(page, None).error == "not a feed: HTML page"


def test_a_body_that_looks_like_a_path_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss("<item><title>leaked</title><guid>1</guid></item>"))
    parsed = parse(str(secret).encode(), None)
    assert parsed.articles == []
    assert parsed.error is not None and parsed.error.startswith("not a feed")


def test_naive_fetch_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_feed(b"", feed_name="x", url=URL, headers={}, fetched_at=datetime(2024, 1, 1))


def test_corpus_feeds_all_parse_into_sane_articles(corpus: Path) -> None:
    files = [
        p
        for p in sorted((corpus / "feeds").rglob("*"))
        if p.is_file() and p.suffix != ".tsv" and p.stat().st_size < 48_000
    ]
    assert len(files) > 100
    total = 0
    for path in files:
        parsed = parse(path.read_bytes(), None)
        assert parsed.articles or parsed.error or parsed.skipped or parsed.version, path
        for article in parsed.articles:
            assert article.id and article.title, path
            assert article.published.tzinfo is UTC and article.published <= NOW
            assert article.link is None or article.link.startswith(("http://", "https://"))
            assert "\n" not in article.title and "\x00" not in article.content
        total += len(parsed.articles)
    assert total > 500


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=40))
def test_truncated_or_corrupted_feeds_never_raise(cut: int, junk: bytes) -> None:
    body = sample("real/kc0011.rss")[:cut] + junk
    parsed = parse(body)
    assert isinstance(parsed.articles, list)
    assert parsed.articles or parsed.error is not None or parsed.version is not None
