"""A private Dovecot IMAP server for the tests and the inbound bench (M15).

`Dovecot().start()` writes its own `dovecot.conf` in a temporary directory (its base_dir,
state_dir, log, passwd-file and maildir all in there), runs `dovecot -c <conf> -F` as a
child process listening on 127.0.0.1 only, on a free port, plain IMAP without TLS, with one
user and password, and waits until it greets. `stop()` terminates it and removes the
directory. The system-wide instance (`/etc/dovecot`, its sockets, its state) is never used.

Run as root, Dovecot will not run its login processes or a mailbox as root: they run as the
`dovenull` and `dovecot` users the package creates. Run as another user, everything runs as
that user.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

DOVECOT = "/usr/sbin/dovecot"
STARTUP_SECONDS = 10
USER = "support"
PASSWORD = "p@ss w/rd"  # quoted in the URL: the poller must unquote it
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
_FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)")

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = csat-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class DovecotMissing(RuntimeError):
    """Dovecot is not installed, or cannot run here (the reason says why)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _users() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mailbox uid, mailbox gid)."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, _group(me.pw_gid), me.pw_name, me.pw_uid, me.pw_gid
    try:
        internal = pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        raise DovecotMissing("run as root, Dovecot needs its users dovecot and dovenull") from None
    return "dovecot", _group(internal.pw_gid), "dovenull", internal.pw_uid, internal.pw_gid


def _group(gid: int) -> str:
    return grp.getgrgid(gid).gr_name


class Dovecot:
    """One private server. `.url` for `imap_poll(url=…)`; `.append()` delivers a message;
    `.uids()`, `.flags()`, `.folder_count()` read the mailbox back; `.reset()` empties it."""

    def __init__(self, executable: str = DOVECOT):
        self.executable = executable
        self.root: Path | None = None
        self.port = 0
        self.process: subprocess.Popen | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Dovecot:
        if not os.access(self.executable, os.X_OK):
            raise DovecotMissing(f"{self.executable} is not installed")
        internal, internal_group, login, uid, gid = _users()
        self.root = Path(tempfile.mkdtemp(prefix="csat-dovecot-"))
        self.root.chmod(0o755)  # the auth process (user `internal`) reads the passwd-file
        self.port = _free_port()
        mail = self.root / "mail"
        mail.mkdir()
        os.chown(mail, uid, gid)
        passwd = self.root / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail}/{USER}::\n")
        passwd.chmod(0o644)
        self.conf.write_text(
            CONF.format(
                root=self.root,
                port=self.port,
                internal=internal,
                internal_group=internal_group,
                login=login,
                mail_uid=min(uid, 500),
                mail_gid=min(gid, 500),
            )
        )
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.conf), "-F"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "wb"),  # noqa: SIM115 - the child holds it
            start_new_session=True,
        )
        try:
            self._wait_for_greeting()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                raise DovecotMissing(f"dovecot exited with {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise DovecotMissing(f"dovecot did not answer in {STARTUP_SECONDS} s: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master stops its children
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def log(self) -> str:
        texts = []
        for name in ("stderr.log", "dovecot.log"):
            path = self.root / name if self.root else None
            if path is not None and path.exists():
                texts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(texts).strip()

    # --- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`imap://support:p%40ss%20w%2Frd@127.0.0.1:PORT/INBOX`, for `imap_poll(url=…)`."""
        return self.url_for("INBOX")

    def url_for(self, folder: str = "INBOX", **query: str) -> str:
        tail = "&".join(f"{key}={quote(value, safe='')}" for key, value in query.items())
        return (
            f"imap://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/"
            f"{quote(folder, safe='')}" + (f"?{tail}" if tail else "")
        )

    # --- the mailbox -------------------------------------------------------------------------

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, *, folder: str = "INBOX", seen: bool = False) -> int:
        """Deliver `raw` (bytes as received) into `folder`; its UID."""
        client = self.connect()
        try:
            status, data = client.append(folder, "(\\Seen)" if seen else None, None, raw)
        finally:
            client.logout()
        if status != "OK":
            raise RuntimeError(f"APPEND refused: {data!r}")
        found = _APPENDUID.search(data[0] or b"")
        return int(found.group(1)) if found else 0

    def append_many(self, raws, *, folder: str = "INBOX") -> None:
        """Deliver many messages over one connection (the bench's load)."""
        client = self.connect()
        try:
            for raw in raws:
                status, data = client.append(folder, None, None, raw)
                if status != "OK":
                    raise RuntimeError(f"APPEND refused: {data!r}")
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Each message's UID with its flags (`\\Seen`, …)."""
        client = self.connect()
        try:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return {}
            _, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
        finally:
            client.logout()
        flags = {}
        for line in data:
            item = line[0] if isinstance(line, tuple) else line
            found = _FLAGS.search(item or b"")
            if found:
                flags[int(found.group(1))] = set(found.group(2).decode().split())
        return flags

    def uids(self, *, seen: bool | None = None, folder: str = "INBOX") -> list[int]:
        """The UIDs in `folder`: all, only the seen ones, or only the unseen ones."""
        return sorted(
            uid
            for uid, flags in self.flags(folder).items()
            if seen is None or ("\\Seen" in flags) == seen
        )

    def folder_count(self, name: str) -> int:
        """How many messages `name` holds (0 when it does not exist)."""
        return len(self.flags(name))

    def folders(self) -> list[str]:
        client = self.connect()
        try:
            _, data = client.list()
        finally:
            client.logout()
        return [line.decode().rsplit(' "/" ', 1)[-1].strip('"') for line in data if line]

    def unsee(self, uid: int, folder: str = "INBOX") -> None:
        """Remove the \\Seen flag, as a person would in a mail client."""
        client = self.connect()
        try:
            client.select(_quoted(folder))
            client.uid("STORE", str(uid), "-FLAGS.SILENT", "(\\Seen)")
        finally:
            client.logout()

    def reset(self) -> None:
        """Empty INBOX and delete every other folder."""
        client = self.connect()
        try:
            client.select("INBOX")
            client.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
            client.expunge()
            client.close()
        finally:
            client.logout()
        for folder in self.folders():
            if folder != "INBOX":
                client = self.connect()
                try:
                    client.delete(_quoted(folder))
                finally:
                    client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
