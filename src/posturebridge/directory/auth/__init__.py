"""The identity platform: OpenID Connect discovery, keys, the token and authorize endpoints, consent."""
