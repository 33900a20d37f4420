"""A minimal browser for the sign-in pages: read the page's form, fill it in, post it, follow redirects
on the directory, stop at the client's redirect URI."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


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
        elif tag == "button" and self.forms and values.get("name"):
            self.forms[-1].buttons.setdefault(values["name"], []).append(values.get("value", ""))


def form_of(page: httpx.Response) -> Form:
    parser = _FormParser()
    parser.feed(page.text)
    assert parser.forms, f"no form on the page:\n{page.text[:2000]}"
    return parser.forms[0]


def submit(http: httpx.Client, page: httpx.Response, **values: str) -> httpx.Response:
    form = form_of(page)
    action = urljoin(str(page.url), form.action)
    return http.post(action, data={**form.fields, **values})


def follow(http: httpx.Client, response: httpx.Response, stop_at: str) -> httpx.Response:
    """Follow redirects that stay on the directory; return the response that redirects to ``stop_at``."""
    while response.status_code in (301, 302, 303, 307) and not response.headers["location"].startswith(stop_at):
        response = http.get(urljoin(str(response.url), response.headers["location"]))
    return response


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The parameters of a redirect to the client (query or fragment)."""
    assert response.status_code == 302, response.text[:2000]
    location = urlsplit(response.headers["location"])
    raw = location.fragment or location.query
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def sign_in(http: httpx.Client, page: httpx.Response, login: str, password: str) -> httpx.Response:
    return submit(http, page, login=login, passwd=password)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(base: str, tenant: str, **params: str) -> str:
    from urllib.parse import urlencode

    return f"{base}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"
