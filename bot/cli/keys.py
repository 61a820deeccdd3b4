"""`jourbot keys new`, `keys rotate-data` and `keys rotate-pickle`: keys that resist guessing, and either key replaced
without losing what it encrypted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import config as config_module
from bot.config import keys
from bot.store import Store
from bot.store.files import write_private
from bot.store.rotation import reseal
from bot.store.secretbox import SecretBox


def add_keys_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keys", help="the pickle key and the data key")
    sub = parser.add_subparsers(dest="keys_command", required=True)
    new = sub.add_parser("new", help="write new random keys (256 bits, mode 0600) to files that do not exist yet")
    new.add_argument("files", nargs="*", type=Path, help="where to write a key each (default: the config's"
                                                          " pickle_key_file and data_key_file)")
    new.add_argument("-c", "--config", default="config.toml", type=Path)
    new.set_defaults(func=new_keys)
    rotate = sub.add_parser("rotate-data", help="re-seal every sealed field under a new data key (the bot stopped)")
    rotate.add_argument("-c", "--config", default="config.toml", type=Path)
    rotate.add_argument("--new-key-file", required=True, type=Path,
                        help="the new data key (e.g. from `jourbot keys new`); it replaces data_key_file's content")
    rotate.set_defaults(func=rotate_data)
    pickle = sub.add_parser("rotate-pickle", help="encrypt the crypto store and the cross-signing keys anew under a"
                                                  " new pickle key (the bot stopped)")
    pickle.add_argument("-c", "--config", default="config.toml", type=Path)
    pickle.add_argument("--new-key-file", required=True, type=Path,
                        help="the new pickle key (e.g. from `jourbot keys new`); it replaces pickle_key_file's content")
    pickle.set_defaults(func=rotate_pickle)


def new_keys(args: argparse.Namespace) -> int:
    files: list[Path] = list(args.files)
    if not files:
        config = config_module.load(args.config)
        files = [config_module.file_path(config.path, name) for name in
                 (config.storage.pickle_key_file, config.storage.data_key_file) if name]
        if not files:
            print(f"{config.path}: [storage] names no pickle_key_file or data_key_file; give the files to write",
                  file=sys.stderr)
            return 2
    existing = [str(f) for f in files if f.exists()]
    if existing:
        # Overwriting a key loses what it encrypted: the crypto store, the sealed fields.
        print("not overwritten (a key in use cannot be replaced this way; see `jourbot keys rotate-data`): "
              + ", ".join(existing), file=sys.stderr)
    for path in files:
        if not path.exists():
            write_private(path, keys.new_key() + "\n")
            print(f"wrote a new key to {path} (mode 0600)")
    return 1 if existing else 0


def _new_key(path: Path, old_key: str) -> str | None:
    """The new key in `path`, or None after saying why it cannot be one."""
    if problem := keys.file_problem(path):
        print(problem, file=sys.stderr)
        return None
    try:
        new_key = path.read_text().strip()
    except OSError as err:
        print(f"cannot read {path}: {err.strerror}", file=sys.stderr)
        return None
    if weak := keys.weakness(new_key):
        print(f"the new key in {path} is too weak: {weak}", file=sys.stderr)
        return None
    if new_key == old_key:
        print(f"{path} holds the key in use already", file=sys.stderr)
        return None
    return new_key


def rotate_data(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    old_key = config.data_key()
    new_path: Path = args.new_key_file
    new_key = _new_key(new_path, old_key)
    if new_key is None:
        return 2
    store = Store(config.state_dir / "jourbot.db", SecretBox(old_key, "data"),
                  database=config.storage.database)
    try:
        if not store.db.exclusive():
            print("the database is in use (is the bot running?): stop the bot and try again", file=sys.stderr)
            return 1
        new_box = SecretBox(new_key, "data", store.box.salt)
        with store.transaction():
            counts = reseal(store.db, store.box, new_box)
            store.audit.rekey(new_box.derive("audit-mac"))
            store.audit.append("jourbot", "keys.data_rotated", "", counts)
    finally:
        store.close()
    print("re-sealed under the new data key: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    _put_in_place(config, config.storage.data_key_file, config.storage.data_key_env, new_path, new_key)
    return 0


def rotate_pickle(args: argparse.Namespace) -> int:
    from bot.matrix.repickle import RepickleError, repickle  # nio loads only for the command that needs it

    config = config_module.load(args.config)
    old_key = config.pickle_key()
    new_path: Path = args.new_key_file
    new_key = _new_key(new_path, old_key)
    if new_key is None:
        return 2
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"),
                  database=config.storage.database)
    try:
        if not store.db.exclusive():
            print("the database is in use (is the bot running?): stop the bot and try again", file=sys.stderr)
            return 1
        try:
            counts = repickle(config.state_dir, config.matrix.user_id, old_key, new_key)
        except RepickleError as err:
            print(str(err), file=sys.stderr)
            return 1
        with store.transaction():
            store.audit.append("jourbot", "keys.pickle_rotated", "", counts)
    finally:
        store.close()
    print("encrypted anew under the new pickle key: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    _put_in_place(config, config.storage.pickle_key_file, config.storage.pickle_key_env, new_path, new_key)
    return 0


def _put_in_place(config: config_module.Config, key_file: str, key_env: str, new_path: Path, new_key: str) -> None:
    """The new key where the configuration reads it: its file rewritten, or the operator told which variable to set."""
    if key_file:
        target = config_module.file_path(config.path, key_file)
        write_private(target, new_key + "\n")
        print(f"{target} now holds the new key; {new_path} may be deleted")
    else:
        print(f"set {key_env} to the key in {new_path} before the bot starts again")
