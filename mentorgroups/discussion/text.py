"""A reply as the page shows it: plain text, escaped, with http(s) links made clickable.
Line breaks stay in the text; the page keeps them (white-space: pre-wrap)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# A link runs to the next space or character that cannot be in a URL as typed; punctuation
# that ends a sentence ("see https://x.example/a.") is left outside it.
LINK = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


def linkify(text: str | None) -> Markup:
    """Escape everything; wrap each http:// or https:// address in a link that neither
    passes rank (nofollow) nor hands over window.opener (noopener). No other scheme
    (javascript:, data:, ftp:) ever becomes a link."""
    text = text or ""
    parts: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        if url.count("(") > url.count(")") and text[match.start() + len(url):][:1] == ")":
            url += ")"  # https://en.wikipedia.org/wiki/Foo_(bar)
        end = match.start() + len(url)
        if len(url) <= len("https://"):
            continue
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup('<a href="{0}" rel="nofollow noopener">{0}</a>').format(url))
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
