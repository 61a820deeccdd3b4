"""A roster folder whose people have phone numbers, and the [sms] section that points the bot at a stand-in gateway
with its credentials in 0600 files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"
# From the series PTS keeps for fiction (070-174 06 05 to 070-174 06 99): they reach nobody.
PHONES = {"@anna.a:localhost": "+46701740605", "@bertil.b:localhost": "+46701740606",
          "@chef.c:localhost": "+46701740607"}


def rosters_with_phones(folder: Path) -> Path:
    shutil.copytree(ROSTERS, folder)
    names = {"@anna.a:localhost": "Anna A", "@bertil.b:localhost": "Bertil B", "@chef.c:localhost": "Chef C"}
    (folder / "people.toml").write_text("[people]\n" + "".join(
        f'"{user}" = {{ name = "{names[user]}", phone = "{phone}" }}\n' for user, phone in PHONES.items()))
    return folder


def sms_section(config_dir: Path, url: str, unseen_after_s: int = 60, timeout_s: int = 2) -> str:
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, secret in (("sms.user", "u-jourbot"), ("sms.password", "p-secret")):
        path = config_dir / name
        path.write_text(secret)
        os.chmod(path, 0o600)
    return (f'\n[sms]\nenabled = true\nurl = "{url}"\nsender = "Jourbot"\nusername_file = "sms.user"\n'
            f'password_file = "sms.password"\ntimeout_s = {timeout_s}\nunseen_after_s = {unseen_after_s}\n')
