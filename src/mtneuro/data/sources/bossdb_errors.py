"""How a BossDB request failed: transient or permanent, and in one short line.

:func:`classify_error` tells the retry loop (:mod:`mtneuro.data.retry`) whether an error
raised by an ``intern`` call is worth retrying; :func:`describe_error` turns it into the
reason a user reads, with :data:`OFFLINE_HINT` saying how to work without the server, and
for a refused token (HTTP 401 / 403) :func:`token_hint` saying which token was sent and
where to set another.
"""

from __future__ import annotations

import os

from mtneuro.data.retry import Verdict

OFFLINE_HINT = (
    "to work offline use --source phantom, or a cache filled while online "
    "(mtneuro data fetch --source bossdb --cache DIR ...)"
)


#: environment variable holding a non-public BossDB token (never written to disk).
TOKEN_ENV = "MTNEURO_BOSS_TOKEN"


class CorruptBodyError(Exception):
    """A cutout body that did not decode to the requested block (e.g. truncated)."""


def classify_error(exc: BaseException) -> Verdict | None:
    """Transient (retry) vs permanent (fail now) for errors raised by ``intern`` calls."""
    import requests

    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status is None or status >= 500 or status in (408, 429):
            return "transient"
        return "permanent"
    malformed = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                 requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader,
                 requests.exceptions.URLRequired)
    if isinstance(exc, malformed):  # refused before anything is sent: a retry cannot help
        return "permanent"
    if isinstance(
        exc, (requests.RequestException, CorruptBodyError, ConnectionError, TimeoutError)
    ):
        return "transient"
    return None


def resolve_token(token: str | None) -> tuple[str, str]:
    """The token to send (``token``, else ``$MTNEURO_BOSS_TOKEN``, else BossDB's anonymous
    ``public``) and where it came from: ``"argument"``, ``"env"`` or ``"default"``, kept to
    say which token a server refused (:func:`token_hint`)."""
    if token:
        return token, "argument"
    env = os.environ.get(TOKEN_ENV)
    return (env, "env") if env else ("public", "default")


def token_hint(exc: BaseException | None, origin: str) -> str:
    """For an HTTP 401 / 403, which token the server refused and how to give another (never
    the token itself), ending in ``"; "``; ``""`` for any other error."""
    import requests

    if not (isinstance(exc, requests.HTTPError) and exc.response is not None
            and exc.response.status_code in (401, 403)):
        return ""
    # intern's own config file (~/.intern/intern.cfg) is never read: the token is passed.
    refused = ("refused" if exc.response.status_code == 401
               else "gave no read access to this data with")
    if origin == "argument":
        return (f"the server {refused} the token given as token=... (--source-param "
                f"token=...); check it, or leave it out to use ${TOKEN_ENV}; ")
    if origin == "env":
        return (f"the server {refused} the token in ${TOKEN_ENV}; check it, or unset it to "
                "read public data with the anonymous token 'public'; ")
    return (f"the server {refused} the anonymous token 'public'; set ${TOKEN_ENV} (or "
            "--source-param token=...) to a BossDB API token with access to this data; ")


def describe_error(exc: BaseException | None) -> str:
    """A short one-line description of a request failure."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".strip()
    if exc is None:
        return "cancelled"
    text = " ".join(str(exc).split())
    if "(Caused by " in text:  # urllib3 wraps the cause (name resolution, refused) at the end
        text = _innermost_cause(text)
    return f"{type(exc).__name__}: {shorten_words(text)}" if text else type(exc).__name__


def _innermost_cause(text: str) -> str:
    """The last ``(Caused by ...)`` clause of ``text``, without the closing characters of
    the clauses around it (a proxy error nests one cause inside another)."""
    cause = text.rsplit("(Caused by ", 1)[1]
    while cause and cause[-1] in ")'\"" and cause.count(")") > cause.count("("):
        cause = cause[:-1]
    return cause


def shorten_words(text: str, limit: int = 160) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked ``...``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 4].rsplit(" ", 1)[0] if " " in text[: limit - 4] else text[: limit - 4]
    return cut.rstrip(" ,;:(") + " ..."
