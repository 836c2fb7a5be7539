"""Masking of the secrets a URL may carry, for everything Nuvom prints, logs or dumps."""

from __future__ import annotations

import re
import urllib.parse

#: What a secret is replaced by.
MASK = "***"
#: A query parameter is secret when its name contains one of these (``password``,
#: ``sentinel_password``, ``token``, ``client_secret``...), in any case.
SECRET_PARAMETER_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "auth", "credential")

_SECRET_PARAMETER = re.compile(
    r"(?P<name>(?:^|(?<=[&;]))[^=&;]*(?:"
    + "|".join(re.escape(word) for word in SECRET_PARAMETER_WORDS)
    + r")[^=&;]*)=[^&;]*",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with the password of its user info and the values of secret query parameters masked.

    Everything else is kept as written. A URL that cannot be parsed is masked after its scheme.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}{sep}{MASK}" if sep else MASK
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        url = url.replace(f"//{parts.netloc}", f"//{userinfo.partition(':')[0]}:{MASK}@{hostport}", 1)
    if parts.query:
        head, _, rest = url.partition("?")
        query, hash_, fragment = rest.partition("#")
        query = _SECRET_PARAMETER.sub(lambda m: f"{m['name']}={MASK}", query)
        url = f"{head}?{query}{hash_}{fragment}"
    return url
