"""The broker's PKeyAuth answer against the directory's own challenge builder and header parser."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest

from posturebridge.device.keys import generate_device_key
from posturebridge.device.pkeyauth import (
    PKeyAuthChallengeError,
    auth_token,
    authorization,
    is_challenge,
    parse_challenge,
)
from posturebridge.directory.auth.devices import challenge_location, parse_pkeyauth_authorization

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SUBMIT = "https://login.example/common/DeviceAuthPKeyAuth"


def _challenge() -> str:
    return challenge_location(
        cert_authorities="OU=t1,CN=MS-Organization-Access,DC=windows,DC=net",
        context="ctx.blob",
        nonce="n-1",
        submit_url=SUBMIT + "?dc=1",
        tenant_id="t1",
    )


def test_the_directory_challenge_parses_and_the_answer_is_what_the_directory_reads() -> None:
    location = _challenge()
    assert is_challenge(location) and not is_challenge("https://login.example/?x=urn:http-auth:PKeyAuth")
    challenge = parse_challenge(location)
    assert (challenge.nonce, challenge.context, challenge.version, challenge.tenant_id) == (
        "n-1",
        "ctx.blob",
        "1.0",
        "t1",
    )
    key = generate_device_key()
    token = auth_token(challenge, key, b"\x30\x03der", NOW)
    header = parse_pkeyauth_authorization(authorization(challenge, token))
    assert header == {"AuthToken": token, "Context": "ctx.blob", "Version": "1.0"}
    claims = jwt.decode(token, key.public_key, algorithms=["RS256"], audience=SUBMIT)  # SubmitUrl without its query
    assert (claims["nonce"], claims["iat"]) == ("n-1", int(NOW.timestamp()))
    assert jwt.get_unverified_header(token)["x5c"] == [base64.b64encode(b"\x30\x03der").decode()]


def test_no_certificate_answers_without_an_auth_token() -> None:
    header = parse_pkeyauth_authorization(authorization(parse_challenge(_challenge()), None))
    assert header == {"Context": "ctx.blob", "Version": "1.0"}


@pytest.mark.parametrize(
    "location", ["https://login.example/", "urn:http-auth:PKeyAuth?Version=1.0&Context=c&SubmitUrl=x"]
)
def test_a_redirect_that_is_not_a_whole_challenge_is_refused(location: str) -> None:
    with pytest.raises(PKeyAuthChallengeError):
        parse_challenge(location)
