"""[web]: off by default, on 127.0.0.1; links are built on the public URL; a wrong value is named with its key."""

from __future__ import annotations

import pytest

from bot import config as config_module
from bot.config import ConfigError

MINIMAL = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@jourbot:example.org"
"""


def load(tmp_path, text: str) -> config_module.Config:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + text)
    return config_module.load(path)


def test_the_view_is_off_and_local_unless_configured(tmp_path):
    web = load(tmp_path, "").web
    assert (web.enabled, web.host, web.base_url) == (False, "127.0.0.1", "http://127.0.0.1:8080")
    web = load(tmp_path, '[web]\nenabled = true\npublic_url = "https://jour.example.org/"\n').web
    assert web.enabled and web.base_url == "https://jour.example.org"


@pytest.mark.parametrize(("text", "expected"), [
    ('[web]\npublic_url = "jour.example.org"\n', "[web] public_url: expected a URL such as https://jour.example.org"),
    ("[web]\nlink_ttl_s = 0\n", "[web] link_ttl_s: expected a positive number, got 0"),
    ("[web]\nsession_ttl_s = -5\n", "[web] session_ttl_s: expected a positive number, got -5"),
])
def test_a_wrong_value_is_named_with_its_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert expected in str(err.value)
