"""``$search`` on directory objects: the clause grammar and Graph's word tokenization. Pure, no SQL.

learn.microsoft.com/graph/search-query-parameter ("Using $search on directory object collections"):

- format ``$search="clause1" [AND | OR] "clauseX"``, any number of clauses, parentheses for precedence;
  ``AND``/``OR`` outside the quotes and upper case; each clause is ``"<property>:<text>"``; a double
  quote or backslash inside a clause is escaped with a backslash;
- displayName and description are searched by tokens: words are split at spaces, at a change from
  lower to upper case (``HelloWorld`` -> hello, world; ``HELLOworld`` stays one token), between letters
  and digits, and at symbols, which are tokens themselves; words separated only by symbols are also
  joined (``hello.world`` -> hello, ., world, helloworld); matching ignores case and order;
- any other string property behaves as ``startsWith``.

That a search token matches the *start* of a value token (``displayName:Guthr`` finding "Guthrie") is
read from the docs' examples, not stated (inferred).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from posturebridge.directory.graph.errors import GraphError, bad_request


@dataclass(frozen=True, slots=True)
class SearchTerm:
    property: str
    text: str
    start: int


@dataclass(frozen=True, slots=True)
class SearchAnd:
    left: SearchNode
    right: SearchNode


@dataclass(frozen=True, slots=True)
class SearchOr:
    left: SearchNode
    right: SearchNode


SearchNode = SearchTerm | SearchAnd | SearchOr

_PIECE_RE: Final = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
_CASE_SPLIT_RE: Final = re.compile(r"(?<=[a-z])(?=[A-Z])")


def search_tokens(text: str) -> list[str]:
    """Graph's tokenization of a displayName/description or of a search string, lower-cased."""
    tokens: list[str] = []
    for chunk in text.split():
        pieces = _PIECE_RE.findall(chunk)
        words: list[str] = []
        has_symbol = False
        for piece in pieces:
            if piece[0].isalpha():
                words.extend(_CASE_SPLIT_RE.split(piece))
            else:
                has_symbol = has_symbol or not piece.isdigit()
                words.append(piece)
        tokens.extend(w.lower() for w in words)
        if has_symbol:
            joined = "".join(p for p in pieces if p[0].isalnum()).lower()
            if joined and joined not in tokens:
                tokens.append(joined)
    return tokens


def tokens_column_value(text: str | None) -> str | None:
    """The value to store in a pre-tokenized search column: ``" tok1 tok2 "`` (None stays None)."""
    if text is None:
        return None
    return " " + " ".join(search_tokens(text)) + " "


def search_matches(tokens_of_value: list[str], query: str) -> bool:
    """Reference semantics: every query token starts some value token."""
    return all(any(v.startswith(q) for v in tokens_of_value) for q in search_tokens(query))


def _error(text: str, position: int) -> GraphError:
    return bad_request(f"Syntax error: character at position {position} is not valid in $search '{text}'.")


class _SearchParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def skip_ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def word(self, w: str) -> bool:
        self.skip_ws()
        end = self.i + len(w)
        if self.text.startswith(w, self.i) and (end == len(self.text) or self.text[end] in ' \t("'):
            self.i = end
            return True
        return False

    def parse(self) -> SearchNode:
        node = self.or_expr()
        self.skip_ws()
        if self.i != len(self.text):
            raise _error(self.text, self.i)
        return node

    def or_expr(self) -> SearchNode:
        node = self.and_expr()
        while self.word("OR"):
            node = SearchOr(node, self.and_expr())
        return node

    def and_expr(self) -> SearchNode:
        node = self.primary()
        while self.word("AND"):
            node = SearchAnd(node, self.primary())
        return node

    def primary(self) -> SearchNode:
        self.skip_ws()
        if self.i < len(self.text) and self.text[self.i] == "(":
            self.i += 1
            node = self.or_expr()
            self.skip_ws()
            if self.i >= len(self.text) or self.text[self.i] != ")":
                raise _error(self.text, self.i)
            self.i += 1
            return node
        if self.i >= len(self.text) or self.text[self.i] != '"':
            raise _error(self.text, self.i)
        start = self.i
        self.i += 1
        chars: list[str] = []
        while True:
            if self.i >= len(self.text):
                raise _error(self.text, self.i)
            ch = self.text[self.i]
            if ch == "\\" and self.i + 1 < len(self.text):
                chars.append(self.text[self.i + 1])
                self.i += 2
                continue
            if ch == '"':
                self.i += 1
                break
            chars.append(ch)
            self.i += 1
        clause = "".join(chars)
        prop, sep, value = clause.partition(":")
        if not sep or not prop.strip() or not value.strip():
            # The property name is required in every clause on directory objects.
            raise bad_request(f"Invalid $search clause '{clause}': the syntax is \"<property>:<text to search>\".")
        return SearchTerm(prop.strip(), value, start)


def parse_search(text: str) -> SearchNode:
    """Parse a ``$search`` value; raises GraphError 400 on malformed input."""
    return _SearchParser(text).parse()
