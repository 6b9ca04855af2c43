"""html_to_text: words stay words, blocks become lines, nothing hidden leaks into the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.sources.html_text import html_to_text, normalise_space


def test_paragraphs_become_blank_line_separated() -> None:
    assert html_to_text("<p>One.</p><p>Two.</p>") == "One.\n\nTwo."


def test_line_breaks_and_list_items_become_lines() -> None:
    assert html_to_text("a<br>b<br/>c") == "a\nb\nc"
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"
    assert html_to_text("a<br><br>b") == "a\n\nb"


def test_entities_are_decoded_and_spaces_collapsed() -> None:
    text = html_to_text(
        "Patriot&nbsp;&amp;&#160;THAAD &lt;deployed&gt;\n\t  now &#x2014; &quot;ok&quot;"
    )
    assert text == 'Patriot & THAAD <deployed> now — "ok"'


def test_script_style_and_hidden_content_are_dropped() -> None:
    html = (
        "<style>p{color:red}</style><p>Visible</p><script>var drones = 1;</script>"
        "<noscript>enable js</noscript><template><p>later</p></template>"
    )
    assert html_to_text(html) == "Visible"


def test_inline_markup_does_not_split_words() -> None:
    assert html_to_text("Revolution<b>ary</b> <i>Guard</i>") == "Revolutionary Guard"


def test_table_cells_are_separated() -> None:
    html = "<table><tr><td>Iran</td><td>Iraq</td></tr><tr><td>Syria</td></tr></table>"
    assert html_to_text(html) == "Iran Iraq\nSyria"


def test_pre_keeps_its_lines() -> None:
    assert html_to_text("<pre>line 1\nline 2\n\nline 4</pre>") == "line 1\nline 2\n\nline 4"


def test_headings_are_paragraphs() -> None:
    assert html_to_text("<h2>Attack</h2>Drones struck.") == "Attack\n\nDrones struck."


def test_control_and_zero_width_characters_are_removed() -> None:
    assert html_to_text("a\x00b\u200bc\x1bd") == "abcd"


def test_plain_text_and_broken_markup_pass_through() -> None:
    assert html_to_text("") == ""
    assert html_to_text("AT&T is < 5 > 3") == "AT&T is < 5 > 3"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


def test_normalise_space() -> None:
    assert normalise_space("  Jane \n\t Doe\x07 ") == "Jane Doe"


@given(st.text(max_size=300))
def test_output_is_tidy_for_any_input(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert "  " not in text
    assert "\x00" not in text
    assert all(line == line.strip() for line in text.split("\n"))
