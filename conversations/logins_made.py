"""Logins made with a random password that is shown once, handed over to `make run`'s
banner: `ensure_admin` and `seed_demo` write each one they make to a file named by their
`--logins-file` option (`scripts/run` names `.run/logins`), the banner (`run_banner`) takes
them from it, prints them and deletes the file. Nothing else keeps the passwords.
"""

from __future__ import annotations

import os
from pathlib import Path


def login_made(path: str | Path, *, username: str, password: str) -> None:
    """Note that `username` was made with `password` (the file readable by its owner only)."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        file.write(f"{username}\t{password}\n")


def logins_take(path: str | Path) -> dict[str, str]:
    """The logins noted in `path` (username -> password), the file deleted: shown once."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    path.unlink(missing_ok=True)
    made = {}
    for line in lines:
        username, _, password = line.partition("\t")
        if username and password:
            made[username] = password
    return made
