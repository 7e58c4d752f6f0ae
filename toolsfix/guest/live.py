"""The guest toolsfix runs on: run the read-only command table here and read real files.

Run on a production guest, toolsfix must not change it and must not hang on a wedged
command, so only commands from :data:`~toolsfix.guest.capture_api.COMMANDS` are ever run,
without a shell (no quoting surprises, no injection through an interface name), with stdin
closed, ``LC_ALL=C`` (parsers read the C locale's wording) and a time limit. Whatever cannot
be run becomes a result with ``status=None`` instead of an exception, so a guest without
``ipadm`` (Solaris 10) is simply a guest without ``ipadm``.
"""

from __future__ import annotations

import os
import platform
import shlex
import signal
import subprocess
from collections.abc import Sequence
from typing import Optional

from toolsfix.guest.capture_api import (
    COMMANDS,
    Capture,
    CommandResult,
    ListResult,
    list_host_dir,
)
from toolsfix.safeio import ReadResult, ReadStatus, read_file_checked

DEFAULT_TIMEOUT = 10.0
IF_PLACEHOLDER = "{if}"
SYS_CLASS_NET = "/sys/class/net"

_SYSTEMS = {"SunOS": "solaris", "Linux": "linux", "VMkernel": "esxi"}


def detect_os() -> str:
    """This machine as a command-table os name: "solaris", "linux", "esxi" or "unknown"."""
    return _SYSTEMS.get(platform.system(), "unknown")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command and anything it started (a shell wrapper's children hold the pipes)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


class LiveCapture(Capture):
    """A :class:`~toolsfix.guest.capture_api.Capture` of the machine this process runs on.

    ``os_name`` selects which table rows apply (default: detected); rows for another OS give
    None. ``interfaces`` overrides the interface list (default: ``/sys/class/net``); a
    per-interface key naming an interface not in that list is refused (None), so a key can
    never smuggle an argument into a command.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        os_name: Optional[str] = None,
        interfaces: Optional[Sequence[str]] = None,
    ) -> None:
        self.timeout = timeout
        self.os_name = os_name or detect_os()
        self.origin = f"live:{platform.node() or 'localhost'}"
        self._interfaces = list(interfaces) if interfaces is not None else None
        self._cache: dict[str, CommandResult] = {}

    def interfaces(self) -> list[str]:
        """Network interfaces for per-interface commands (Linux: ``/sys/class/net``)."""
        if self._interfaces is None:
            self._interfaces = list(list_host_dir(SYS_CLASS_NET).names or ())
        return list(self._interfaces)

    def keys(self) -> list[str]:
        """Every command key that applies here, per-interface keys expanded."""
        out: list[str] = []
        for key, (line, os_name) in COMMANDS.items():
            if not self._applies(os_name):
                continue
            if IF_PLACEHOLDER in line:
                out.extend(f"{key}:{name}" for name in self.interfaces())
            else:
                out.append(key)
        return out

    def _applies(self, os_name: str) -> bool:
        return os_name in ("any", self.os_name)

    def _argv(self, key: str) -> Optional[tuple[str, list[str]]]:
        """(display line, argv) for ``key``, or None when the key is not runnable here."""
        base, sep, iface = key.partition(":")
        entry = COMMANDS.get(base)
        if entry is None:
            return None
        line, os_name = entry
        if not self._applies(os_name):
            return None
        argv = shlex.split(line)
        if IF_PLACEHOLDER in line:
            if not sep or iface not in self.interfaces():
                return None
            argv = [arg.replace(IF_PLACEHOLDER, iface) for arg in argv]
            line = line.replace(IF_PLACEHOLDER, iface)
        elif sep:
            return None
        return line, argv

    def command(self, key: str) -> Optional[CommandResult]:
        """Run (once) the table command ``key``; None when it is not in the table or not for
        this OS. A missing binary or a timeout gives ``status=None`` with the reason in stderr.
        """
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        spec = self._argv(key)
        if spec is None:
            return None
        line, argv = spec
        result = self._run(key, line, argv)
        self._cache[key] = result
        return result

    def _run(self, key: str, line: str, argv: list[str]) -> CommandResult:
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                shell=False,
                start_new_session=True,
            )
        except FileNotFoundError:
            return CommandResult(key, line, None, "", f"{argv[0]}: not found")
        except OSError as exc:
            return CommandResult(key, line, None, "", f"{argv[0]}: cannot run: {exc.strerror}")
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return CommandResult(key, line, None, "", f"timed out after {self.timeout:g} s")
        return CommandResult(
            key,
            line,
            proc.returncode,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
        )

    def read_file_checked(self, path: str) -> ReadResult:
        """Bounded, non-blocking read of a real file (a FIFO or device is never read)."""
        if not path.startswith("/"):
            return ReadResult(ReadStatus.ABSENT, reason="not an absolute path")
        return read_file_checked(path)

    def list_dir_checked(self, path: str) -> ListResult:
        if not path.startswith("/"):
            return ListResult(ReadStatus.ABSENT, reason="not an absolute path")
        return list_host_dir(path)

    def file_mtime(self, path: str) -> Optional[int]:
        """Modification time of a real file (epoch seconds); None when absent."""
        if not path.startswith("/"):
            return None
        try:
            return int(os.stat(path).st_mtime)
        except OSError:
            return None
