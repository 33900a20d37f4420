"""What the broker's embedded web view does with the directory's sign-in pages, without a browser.

Reads the first HTML form of a page (its action and its fields), and makes PKCE pairs (RFC 7636,
S256). Pure: no HTTP, no files; `posturebridge.device.agent` drives the pages over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")


def first_form(html: str) -> Form | None:
    """The page's first form, or None when the page has none."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms[0] if parser.forms else None


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = "S256"


def new_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("="))
