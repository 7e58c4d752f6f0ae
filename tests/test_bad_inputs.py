"""Every command over every malformed or hostile input: one clear line, bounded cost, no hang.

The corpus (``tests/adversarial/inputs/``, SYNTHETIC) says for each input which commands
apply and which exit codes are correct. Each (input, command) pair runs once, through click's
``CliRunner`` in a forked child of the test process: the child starts with toolsfix (and
LIEF) already imported, so a case costs its own work only, while the parent still gets what
a subprocess gives -- a hang is killed after 60 s, a crash of a native parser cannot take
pytest with it, and the child's own peak RSS comes from ``os.wait4``. One more test runs the
real ``python -m toolsfix`` entry point on the worst inputs.

Asserted for every pair: the exit code is one the corpus documents; no traceback; no
"internal error" (that line is for bugs); an error is exactly one ``toolsfix: error:`` line;
peak RSS under 1 GB.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional

import pytest
from click.testing import CliRunner

from toolsfix.cli import cli

HERE = Path(__file__).resolve().parent
INPUTS_DIR = HERE / "adversarial" / "inputs"
SMALL = INPUTS_DIR / "small"
REPO = HERE.parent
SAMPLE_TGZ = REPO / "vendor-samples" / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
SAMPLE_DRIVER = (
    REPO
    / "vendor-samples"
    / "distribs"
    / "9.2.2"
    / "vmware-tools-distrib"
    / "lib"
    / "modules"
    / "binary"
    / "11"
    / "vmxnet3s"
)
TIMEOUT = 60.0
MAX_RSS_KB = 1024 * 1024  # 1 GB


def _load_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "toolsfix_bad_input_corpus", INPUTS_DIR / "make_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses need the module registered
        spec.loader.exec_module(module)
    return module


CORPUS = _load_corpus()
CASES = [
    pytest.param(inp, command, id=f"{command}:{inp.name}")
    for inp in CORPUS.INPUTS
    for command in sorted(inp.expect)
]


def argv_for(command: str, target: Path, scratch: Path) -> list[str]:
    """The command line of ``command`` run on ``target`` (see make_corpus's table)."""
    t = str(target)
    return {
        "scan": ["scan", "--no-exec", t],
        "scan-exec": ["scan", "--perl-timeout", "10", t],
        "patch-check": ["patch", "--check", "--no-exec", t],
        "patch-dry-run": ["patch", "--dry-run", "--no-exec", t],
        "patch-output": ["patch", "--no-exec", str(SAMPLE_TGZ), "--output", t],
        "verify-root": ["verify", "--no-exec", "--root", t],
        "verify-bundle": ["verify", "--no-exec", "--bundle", t],
        "fingerprint": ["fingerprint", t],
        "fingerprint-db": ["fingerprint", "--db", t, str(SAMPLE_DRIVER)],
        "learn": ["fingerprints", "learn", t, "--db", str(scratch / "learned-db")],
        "remedy": ["remedy", t],
    }[command]


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int


def _wait(pid: int, what: str) -> tuple[int, int]:
    """Wait for ``pid`` (killed after TIMEOUT): (exit code, peak RSS in KB of that child)."""
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(TIMEOUT, kill)
    timer.start()
    try:
        _pid, status, usage = os.wait4(pid, 0)
    finally:
        timer.cancel()
    if killed.is_set():
        raise AssertionError(f"{what} hung: killed after {TIMEOUT:.0f} s")
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss


def run_forked(argv: list[str], env: dict[str, str]) -> Outcome:
    """``CliRunner().invoke`` in a forked child; the result comes back through a file."""
    with tempfile.TemporaryFile() as channel:
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            status = 70
            try:
                result = CliRunner().invoke(cli, argv, env=env, catch_exceptions=True)
                error = result.exception
                uncaught = None
                if error is not None and not isinstance(error, SystemExit):
                    uncaught = "".join(traceback.format_exception(error))
                doc = {
                    "code": result.exit_code,
                    "stdout": result.stdout,
                    "stderr": result.stderr,
                    "uncaught": uncaught,
                }
                channel.write(json.dumps(doc).encode("utf-8", "surrogatepass"))
                channel.flush()
                status = 0
            finally:
                os._exit(status)
        code, rss = _wait(pid, f"toolsfix {' '.join(argv)}")
        elapsed = time.monotonic() - start
        assert code == 0, f"the forked runner died (exit {code}): toolsfix {' '.join(argv)}"
        channel.seek(0)
        doc = json.loads(channel.read().decode("utf-8", "surrogatepass"))
    if doc["uncaught"]:
        raise AssertionError(f"toolsfix {' '.join(argv)} raised:\n{doc['uncaught']}")
    return Outcome(doc["code"], doc["stdout"], doc["stderr"], elapsed, rss)


def run_subprocess(argv: list[str], env: dict[str, str]) -> Outcome:
    """Run ``python -m toolsfix`` with a kill timer; peak RSS is the child's own (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolsfix", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **env},
        )
        code, rss = _wait(proc.pid, f"toolsfix {' '.join(argv)}")
        proc.returncode = code  # already reaped: tell Popen
        elapsed = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return Outcome(code, stdout, stderr, elapsed, rss)


@pytest.fixture(scope="session")
def special_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every special input, built once per session (FIFOs, bombs, sparse files, deep trees)."""
    from toolsfix.fingerprint import lief_available

    lief_available()  # import LIEF once here, not in every forked child
    dest = tmp_path_factory.mktemp("bad-inputs")
    for inp in CORPUS.special_inputs():
        if CORPUS.can_build(inp):
            CORPUS.build(inp, dest)
    try:
        yield dest
    finally:
        CORPUS.remove_deep_trees()  # shutil.rmtree (pytest's cleanup) cannot: it recurses


@pytest.mark.parametrize(("inp", "command"), CASES)
def test_bad_input(inp: object, command: str, special_dir: Path, tmp_path: Path) -> None:
    assert isinstance(inp, CORPUS.Input)
    if not CORPUS.can_build(inp):
        pytest.skip(f"{inp.name} needs {', '.join(inp.needs)} (not available here)")
    target = (special_dir if inp.special else SMALL) / inp.name
    if not inp.name.startswith("missing-parent/"):
        assert os.path.lexists(target), f"corpus input missing: {target}"
    argv = argv_for(command, target, tmp_path)
    env = {"TOOLSFIX_USER_DB": str(tmp_path / "user-db"), "TOOLSFIX_DEBUG": ""}
    outcome = run_forked(argv, env)
    check(outcome, inp.expect[command], argv)


def check(outcome: Outcome, expected: frozenset[int], argv: list[str]) -> None:
    """What every run over a bad input must satisfy (see the module docstring)."""
    shown = f"toolsfix {' '.join(argv)} -> exit {outcome.code}\nstderr: {outcome.stderr[-2000:]}"
    assert "Traceback" not in outcome.stderr + outcome.stdout, shown
    assert "internal error" not in outcome.stderr, shown
    assert outcome.code in expected, shown
    if outcome.code not in (0, 1):
        lines = outcome.stderr.splitlines()
        assert len(lines) == 1, shown
        assert lines[0].startswith("toolsfix: error: "), shown
        assert len(lines[0]) < 600, shown
    assert outcome.max_rss_kb < MAX_RSS_KB, f"{shown}\npeak RSS {outcome.max_rss_kb} KB"
    assert outcome.seconds < TIMEOUT, shown


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("fifo", "scan"),
        ("fifo", "remedy"),
        ("gzip-bomb-driver.tar.gz", "learn"),
        ("sparse-2g.pl", "scan"),
        ("distrib-deep", "scan"),
    ],
)
def test_real_entry_point(name: str, command: str, special_dir: Path, tmp_path: Path) -> None:
    """The same guarantees through ``python -m toolsfix`` itself (its own stderr, exit code
    and memory), for the inputs that used to hang or exhaust memory."""
    inp = next(i for i in CORPUS.INPUTS if i.name == name)
    argv = argv_for(command, special_dir / name, tmp_path)
    outcome = run_subprocess(argv, {"TOOLSFIX_USER_DB": str(tmp_path / "user-db")})
    check(outcome, inp.expect[command], argv)
    assert outcome.code == 3 and outcome.seconds < 15, outcome


def test_corpus_is_complete_and_committed() -> None:
    """At least 60 inputs, every command and every source kind covered, small ones on disk."""
    inputs = CORPUS.INPUTS
    assert len(inputs) >= 60
    commands = {c for inp in inputs for c in inp.expect}
    assert commands == set(CORPUS.COMMANDS)
    classes = {inp.cls for inp in inputs}
    for needed in (
        "empty",
        "wrong-magic",
        "truncated",
        "corrupt",
        "tar-header",
        "bomb",
        "special-file",
        "sparse",
        "deep-tree",
        "long-line",
        "script-content",
        "elf",
        "report",
        "db",
        "root",
        "bundle",
        "dir-distrib",
    ):
        assert needed in classes, needed
    for inp in CORPUS.small_inputs():
        assert os.path.lexists(SMALL / inp.name), f"not committed: {inp.name}"
    committed = {p.name for p in SMALL.iterdir()}
    assert committed == {inp.name for inp in CORPUS.small_inputs()}


def test_every_input_class_is_labelled_synthetic() -> None:
    readme = (INPUTS_DIR / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    for cls in {inp.cls for inp in CORPUS.INPUTS}:
        assert f"`{cls}`" in readme, f"class {cls} is not described in the corpus README"


# --------------------------------------------------------------------------------------------
# The mechanisms behind the corpus results, one by one


def _tgz(members: list[tuple[str, bytes]]) -> bytes:
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_archive_cap_counts_streamed_bytes_not_header_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each member is small enough on its own; the sum streamed is what the cap stops."""
    from toolsfix import distrib
    from toolsfix.errors import InputError

    path = tmp_path / "many.tar.gz"
    path.write_bytes(_tgz([(f"vmware-tools-distrib/doc/f{i}", bytes(300_000)) for i in range(8)]))
    assert list(distrib.inventory(distrib.open_source(path)).scripts) == []  # reads fine
    monkeypatch.setattr(distrib, "MAX_ARCHIVE_BYTES", 1_000_000)
    with pytest.raises(InputError, match="too large for a decompressed archive: over the"):
        distrib.inventory(distrib.open_source(path))


def test_member_caps_use_the_declared_size_before_reading(tmp_path: Path) -> None:
    from toolsfix import distrib
    from toolsfix.errors import InputError
    from toolsfix.safeio import MAX_CONFIGURATOR_BYTES

    big = bytes(MAX_CONFIGURATOR_BYTES + 1)
    path = tmp_path / "big-configurator.tar.gz"
    path.write_bytes(_tgz([("vmware-tools-distrib/bin/vmware-config-tools.pl", big)]))
    with pytest.raises(InputError, match=r"too large for a configurator: 8,388,609 bytes"):
        distrib.inventory(distrib.open_source(path))


def test_drivers_are_hashed_not_kept(samples: Path) -> None:
    """scan never holds driver bytes: entries carry only the digest, which is the file's."""
    import hashlib

    from toolsfix import distrib

    source = distrib.open_source(samples / "archives" / "vmware-solaris-tools-9.2.2.tar.gz")
    root = samples / "distribs" / "9.2.2" / "vmware-tools-distrib"
    drivers = [e for e in source.entries() if e.member.path.startswith(distrib.BINARY_DIR)]
    # Solaris builds only: a .conf beside them is read by no check, so it is not hashed
    files = [
        e for e in drivers if e.member.kind == "file" and distrib.classify_build(e.member.path)
    ]
    assert len(files) > 30
    for entry in files:
        assert entry.data is None
        assert entry.sha256 == hashlib.sha256((root / entry.member.path).read_bytes()).hexdigest()


def test_xz_dictionary_claims_meet_the_memory_limit(tmp_path: Path) -> None:
    import lzma

    from toolsfix import distrib
    from toolsfix.errors import InputError

    tar = gzip_decompress_sample()
    path = tmp_path / "dict.tar.xz"
    path.write_bytes(CORPUS.xz_with_dict(lzma.compress(tar), 1536 * 1024 * 1024))
    with pytest.raises(InputError, match="needs more than 128 MiB to decompress"):
        distrib.inventory(distrib.open_source(path))
    # the same stream with its real dictionary reads fine, and so do concatenated streams
    path.write_bytes(lzma.compress(tar) + lzma.compress(b""))
    assert distrib.inventory(distrib.open_source(path)).configurator is not None


def gzip_decompress_sample() -> bytes:
    import gzip

    return gzip.decompress(SAMPLE_TGZ.read_bytes())


def test_walk_tree_matches_the_sorted_os_walk_order(samples: Path) -> None:
    from toolsfix.safeio import walk_tree

    root = samples / "distribs" / "9.2.2" / "vmware-tools-distrib"
    expected = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        expected += [(base / n).relative_to(root).as_posix() for n in sorted(dirnames + filenames)]
    assert [e.rel for e in walk_tree(root)] == expected


def test_walk_tree_refuses_depth_without_recursion(tmp_path: Path) -> None:
    from toolsfix.errors import InputError
    from toolsfix.safeio import walk_tree

    deep = tmp_path / "t"
    (deep / "/".join(["d"] * 70)).mkdir(parents=True)
    with pytest.raises(InputError, match="nest more than 64 levels"):
        list(walk_tree(deep))
    assert len(list(walk_tree(deep, max_depth=80))) == 70


def test_open_regular_names_what_it_refuses(tmp_path: Path) -> None:
    from toolsfix.errors import InputError
    from toolsfix.safeio import open_regular, read_bounded

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="pipe: is a FIFO, not a regular file"):
        open_regular(fifo)  # returns at once: opened non-blocking, then refused
    with pytest.raises(InputError, match="is a directory, not a regular file"):
        open_regular(tmp_path)
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    with pytest.raises(InputError, match="too many levels of symbolic links"):
        open_regular(loop)
    with pytest.raises(InputError, match="cannot read: no such file or directory"):
        open_regular(tmp_path / "missing")
    sparse = tmp_path / "sparse"
    with sparse.open("wb") as fh:
        fh.truncate(10_000)
    with pytest.raises(InputError, match=r"too large for a thing: 10,000 bytes, the limit is"):
        read_bounded(sparse, limit=9_999, what="thing")
    assert read_bounded(sparse, limit=10_000, what="thing") == bytes(10_000)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"findings": []}', '{"findings": []}'),
        (b'\xef\xbb\xbf{"findings": []}', '{"findings": []}'),
        ('{"findings": []}'.encode("utf-16"), '{"findings": []}'),
        ('{"findings": []}'.encode("utf-16-be"), None),
        ('{"findings": []}'.encode("utf-32"), '{"findings": []}'),
        (b'{"findings": ["\xff"]}', None),
    ],
)
def test_reports_decode_from_utf8_or_a_bom(data: bytes, expected: Optional[str]) -> None:
    from toolsfix.errors import InputError
    from toolsfix.remedy import decode_report

    if expected is None:
        with pytest.raises(InputError, match=r"(NUL bytes|not UTF-8 text)"):
            decode_report(data, "r.json")
    else:
        assert decode_report(data, "r.json") == expected


def test_output_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    from toolsfix.cli import check_output_path
    from toolsfix.errors import ExitCode, ToolsfixError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused = {
        tmp_path: "is a directory",
        tmp_path / "no" / "out.tgz": "directory .* does not exist",
        tmp_path / "fifo" / "out.tgz": "is not a directory",
    }
    for path, message in refused.items():
        with pytest.raises(ToolsfixError, match=message) as info:
            check_output_path(path, "--output")
        assert info.value.exit_code is ExitCode.USAGE
    with pytest.raises(ToolsfixError, match="not a regular file"):
        check_output_path(fifo, "--output", regular_only=True)
    check_output_path(fifo, "-o")  # a pipe is a fine place for a report
    check_output_path(tmp_path / "new.json", "-o")


def test_error_lines_cannot_hold_line_breaks_or_escapes() -> None:
    from toolsfix.cli import one_line

    assert one_line("a\nb\x1b[2J\r\x00c") == "a\\nb\\x1b[2J\\r\\x00c"
    assert one_line("plain: text") == "plain: text"


def test_input_failures_are_named_and_bugs_stay_internal() -> None:
    import lzma

    from toolsfix.failures import input_failure

    assert input_failure(RecursionError()) == (
        "input nests too deeply to process (damaged or hostile input)"
    )
    assert input_failure(MemoryError()) == "input too large to process in memory"
    assert input_failure(EOFError()) == "input ends early (truncated)"
    err = FileNotFoundError(2, "No such file or directory", "x.tgz")
    assert input_failure(err) == "x.tgz: No such file or directory"
    line = input_failure(lzma.LZMAError("Corrupt input data"))
    assert line is not None and "Corrupt input data" in line
    assert input_failure(KeyError("bug")) is None
    assert input_failure(TypeError("bug")) is None


def test_learn_source_equals_learning_from_kept_bytes(samples: Path) -> None:
    """The streaming learner (one driver in memory at a time) records what the bulk one did."""
    from toolsfix.distrib import driver_files, open_source
    from toolsfix.fpdb import learn, learn_source

    source = samples / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
    streamed = learn_source(open_source(source), source="t")
    files = driver_files(open_source(source))
    problems: list[str] = []
    bulk = learn(
        files.members,
        tools_version=files.version,
        build=files.build,
        source="t",
        problems=problems,
    )
    assert (streamed.version, streamed.build) == ("9.2.2", "893683")
    assert [r.to_dict() for r in streamed.records] == [r.to_dict() for r in bulk]
    assert list(streamed.problems) == problems
    assert len(bulk) > 30
