"""A BossDB server refusing the token (HTTP 401 / 403) is answered with which token was sent
(never its value) and where to set another, besides the offline hint; through real
``intern`` against the loopback server of ``tests/support/boss_server.py``."""

from __future__ import annotations

import pytest
from boss_server import BossTestServer

from mtneuro.data.sources import open_source
from mtneuro.errors import SourceUnavailableError

OFFLINE = "to work offline use --source phantom"


@pytest.fixture
def private_server(array_source, boss_server):
    """A server (beside ``boss_server``, which sets up intern and the proxies) that takes
    only the token ``s3cret``."""
    with BossTestServer(array_source, token="s3cret") as server:
        yield server


def params(server) -> dict:
    return {"host": server.host, "protocol": "http", "timeout": 10.0, "backoff": 0.01,
            "max_attempts": 2, "channels": "image"}


def refusal(server, monkeypatch, env: str | None, token: str | None = None) -> str:
    if env is None:
        monkeypatch.delenv("MTNEURO_BOSS_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MTNEURO_BOSS_TOKEN", env)
    with pytest.raises(SourceUnavailableError, match="HTTP 401") as caught:
        open_source("bossdb", **params(server), token=token)
    assert server.count("channel", "401") == 1  # permanent: not retried
    message = str(caught.value)
    assert "\n" not in message and OFFLINE in message
    return message


def test_a_refused_default_token_says_to_set_the_environment_variable(
        private_server, monkeypatch):
    message = refusal(private_server, monkeypatch, env=None)
    assert ("the server refused the anonymous token 'public'; set $MTNEURO_BOSS_TOKEN (or "
            "--source-param token=...)") in message


def test_a_refused_token_from_the_environment_is_named_not_shown(private_server, monkeypatch):
    message = refusal(private_server, monkeypatch, env="wrong-secret-value")
    assert "the server refused the token in $MTNEURO_BOSS_TOKEN; check it" in message
    assert "wrong-secret-value" not in message


def test_a_refused_token_argument_is_named_not_shown(private_server, monkeypatch):
    message = refusal(private_server, monkeypatch, env="s3cret", token="wrong-secret-value")
    assert "the server refused the token given as token=..." in message
    assert "wrong-secret-value" not in message


def test_a_403_on_cutouts_names_the_token_setting_in_data_fetch(
        tmp_path, boss_server, monkeypatch, cli):
    """Metadata readable, data forbidden: what BossDB answers a token without read access."""
    monkeypatch.delenv("MTNEURO_BOSS_TOKEN", raising=False)
    base = boss_server._httpd.RequestHandlerClass

    class Forbidden(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            if self.path.startswith("/v1/cutout/"):
                return self._send(403, "application/json", b'{"detail": "forbidden"}')
            return super().do_GET()

    boss_server._httpd.RequestHandlerClass = Forbidden
    code, _, err = cli(["data", "fetch", "--source", "bossdb", "--source-param",
                        f"host={boss_server.host}", "--source-param", "protocol=http",
                        "--cache", str(tmp_path / "c"), "--chunk-shape", "8,128,128",
                        "--z", "0:8", "--y", "0:128", "--x", "0:128", "--channels", "image",
                        "--quiet"])
    assert code != 0 and "HTTP 403" in err
    assert ("gave no read access to this data with the anonymous token 'public'; set "
            "$MTNEURO_BOSS_TOKEN") in err
    assert OFFLINE in err
