"""canonical_url and article_id: one story, one key, however its URL is dressed up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls

from monitor.sources.identity import article_id, canonical_url, is_tracking_parameter

FEED = "https://feeds.example/world.rss"


def test_scheme_and_host_lower_cased_default_port_and_fragment_dropped() -> None:
    assert canonical_url("HTTPS://News.Example.COM:443/World/Story#comments") == (
        "https://news.example.com/World/Story"
    )
    assert canonical_url("http://news.example:80") == "http://news.example/"
    assert canonical_url("http://news.example:8080/a") == "http://news.example:8080/a"


def test_tracking_parameters_removed_and_the_rest_sorted() -> None:
    url = (
        "https://news.example/a?utm_source=rss&id=7&fbclid=x&b=2&gclid=y&mc_cid=1&mc_eid=2"
        "&igshid=z&UTM_Campaign=c&a=1"
    )
    assert canonical_url(url) == "https://news.example/a?a=1&b=2&id=7"
    assert canonical_url("https://news.example/a?utm_medium=email") == "https://news.example/a"


def test_parameter_encoding_is_preserved() -> None:
    assert canonical_url("https://n.example/s?q=a%20b&p=%2F") == "https://n.example/s?p=%2F&q=a%20b"


def test_userinfo_and_ipv6_survive() -> None:
    assert canonical_url("http://user:pw@[::1]:80/x") == "http://user:pw@[::1]/x"


def test_non_urls_are_left_alone() -> None:
    assert canonical_url("  tag:news.example,2024:1 ") == "tag:news.example,2024:1"
    assert canonical_url("/relative/path?utm_source=x") == "/relative/path?utm_source=x"
    assert canonical_url("http://bad:port/x") == "http://bad:port/x"


def test_tracking_parameter_names() -> None:
    assert is_tracking_parameter("utm_content") and is_tracking_parameter("FBCLID")
    assert not is_tracking_parameter("id") and not is_tracking_parameter("utmost")


@given(urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(st.text(max_size=80))
def test_canonical_url_never_raises(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once


def test_guid_wins_and_url_guids_are_canonical() -> None:
    assert article_id(guid="abc-123", link="https://n.example/a", title="t", feed_url=FEED) == (
        "abc-123"
    )
    assert (
        article_id(guid="HTTPS://N.example/a?utm_source=x", link=None, title="t", feed_url=FEED)
        == "https://n.example/a"
    )


def test_link_when_no_guid() -> None:
    one = article_id(guid=None, link="https://n.example/a?b=1&a=2#x", title="t", feed_url=FEED)
    two = article_id(
        guid="  ", link="https://N.example:443/a?a=2&b=1&fbclid=q", title="u", feed_url=FEED
    )
    assert one == two == "https://n.example/a?a=2&b=1"


def test_hash_of_feed_and_title_as_last_resort() -> None:
    one = article_id(guid=None, link=None, title="Drones  hit base", feed_url=FEED)
    same = article_id(guid=None, link=None, title="Drones hit base", feed_url=FEED)
    other_feed = article_id(guid=None, link=None, title="Drones hit base", feed_url=FEED + "2")
    assert one == same and one.startswith("sha256:")
    assert one != other_feed


def test_huge_guids_are_hashed() -> None:
    key = article_id(guid="x" * 5000, link=None, title=None, feed_url=FEED)
    assert key.startswith("sha256:") and len(key) < 64
