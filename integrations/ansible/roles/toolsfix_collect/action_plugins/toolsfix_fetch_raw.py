"""Action ``toolsfix_fetch_raw``: copy one file from a guest that has no Python.

``ansible.builtin.fetch`` runs the ``stat`` (and, with become, ``slurp``) module on the
target, so it needs a Python there; Solaris 10 guests usually have none that a current
ansible-core accepts. This action only runs shell commands on the target and uses the
connection plugin's own file transfer (sftp/scp over ssh, a copy for ``local``), so it works
wherever ``raw`` works.

Integrity: the target's POSIX ``cksum`` (CRC and size; present on every Unix, Solaris 10
included, unlike ``sha256sum``) is compared with the same sum computed here over the received
bytes; a mismatch fails the task and leaves no file behind.

With become, the file is first handed to the login user (``chown``) because the transfer runs
as that user, and the collector writes its archive mode 0600.

Options: ``src`` (absolute path on the target), ``dest`` (path on the controller; its
directory must exist). The file is written atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
import shlex
import tempfile
from typing import Any, BinaryIO, Optional

from ansible.errors import AnsibleActionFail  # type: ignore[import-untyped]
from ansible.plugins.action import ActionBase  # type: ignore[import-untyped]


def _crc_table() -> tuple[int, ...]:
    """CRC-32 table for the POSIX cksum polynomial 0x04C11DB7, most significant bit first."""
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_TABLE = _crc_table()


def posix_cksum(stream: BinaryIO, chunk_size: int = 1 << 16) -> tuple[int, int]:
    """(CRC, size) exactly as ``cksum`` prints them for the bytes of ``stream``."""
    crc = 0
    size = 0
    table = _TABLE
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        size += len(chunk)
        for byte in chunk:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    length = size
    while length:  # POSIX appends the length, least significant byte first, no trailing zeros
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ (length & 0xFF)]
        length >>= 8
    return (~crc) & 0xFFFFFFFF, size


def parse_cksum(text: str) -> Optional[tuple[int, int]]:
    """(CRC, size) from ``cksum`` output read from stdin (``"<crc> <size>"``), else None."""
    words = text.split()
    if len(words) < 2 or not (words[0].isdigit() and words[1].isdigit()):
        return None
    return int(words[0]), int(words[1])


class ActionModule(ActionBase):  # type: ignore[misc]  # ansible ships no type hints
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("src", "dest"))

    def _shell(self, cmd: str, what: str, sudoable: bool = True) -> str:
        res = self._low_level_execute_command(cmd, sudoable=sudoable)
        if res.get("rc") != 0:
            err = (res.get("stderr") or res.get("stdout") or "").strip().splitlines()
            detail = err[-1] if err else f"exit status {res.get('rc')}"
            raise AnsibleActionFail(f"toolsfix_fetch_raw: {what}: {detail}")
        return str(res.get("stdout") or "")

    def _login_user(self) -> str:
        user = self._get_remote_user()
        if user:
            return str(user)
        # Solaris 10's /usr/bin/id has no -u/-n; its XPG4 one does.
        out = self._shell(
            "/usr/xpg4/bin/id -un 2>/dev/null || id -un", "find the login user", sudoable=False
        )
        if not out.strip():
            raise AnsibleActionFail("toolsfix_fetch_raw: cannot tell the login user")
        return out.strip().splitlines()[-1]

    def run(self, tmp: Any = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        src = self._task.args.get("src")
        dest = self._task.args.get("dest")
        if not isinstance(src, str) or not src.startswith("/"):
            raise AnsibleActionFail("toolsfix_fetch_raw: src must be an absolute path on the host")
        if not isinstance(dest, str) or not dest:
            raise AnsibleActionFail("toolsfix_fetch_raw: dest is required")
        dest = os.path.abspath(os.path.expanduser(dest))
        if not os.path.isdir(os.path.dirname(dest)):
            raise AnsibleActionFail(f"toolsfix_fetch_raw: {os.path.dirname(dest)} does not exist")

        remote = parse_cksum(self._shell(f"cksum < {shlex.quote(src)}", f"cannot read {src}"))
        if remote is None:
            raise AnsibleActionFail(f"toolsfix_fetch_raw: unexpected cksum output for {src}")
        if self._connection.become:
            user = self._login_user()
            self._shell(f"chown {shlex.quote(user)} {shlex.quote(src)}", f"cannot chown {src}")

        fd, tmp_dest = tempfile.mkstemp(prefix=".toolsfix-fetch-", dir=os.path.dirname(dest))
        os.close(fd)
        try:
            self._connection.fetch_file(src, tmp_dest)
            with open(tmp_dest, "rb") as stream:
                local = posix_cksum(stream)
            if local != remote:
                raise AnsibleActionFail(
                    f"toolsfix_fetch_raw: {src} changed in transfer: cksum {remote} on the host,"
                    f" {local} received"
                )
            os.chmod(tmp_dest, 0o600)
            os.replace(tmp_dest, dest)
        finally:
            if os.path.exists(tmp_dest):
                os.unlink(tmp_dest)
        result.update(changed=True, src=src, dest=dest, size=remote[1], cksum=remote[0])
        return result
