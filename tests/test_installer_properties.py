"""Classification survives what real files go through: re-indentation, tabs, CRLF, comments
(including comments that *look like* the bug), damaged comment markers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolsfix import installer
from toolsfix.perl import execute

SCRIPTS = Path(__file__).resolve().parent.parent / "vendor-samples" / "scripts"
VARIANTS = {
    "9.2.2": installer.PRESENT,
    "8.6.0": installer.PRESENT,
    "9.9.2": installer.ABSENT,
    "10.3.10": installer.ABSENT,
    "blog-hand-patched": installer.HAND_PATCHED,
}
TEXTS = {v: (SCRIPTS / f"vmware-config-tools-{v}.pl").read_text() for v in VARIANTS}

ws = st.text(alphabet=" \t", min_size=0, max_size=4)
ws1 = st.text(alphabet=" \t", min_size=1, max_size=4)
decoys = st.sampled_from(
    [
        "my $currentMinor = 12;",
        "if ($minor > $currentMinor) {",
        "$osDir = $currentMinor; }",
        "install_file($dir . $osDir . '/vmxnet3s', ...",
        "{ { } 'quote \" and $#array",
        "toolsfix: patched? no",
    ]
)
comment_text = st.one_of(
    decoys, st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
)


@st.composite
def mangled(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    in_fn = False
    for line in lines:
        if line.startswith("sub configure_module_solaris"):
            in_fn = True
        if in_fn and line.strip():
            body = line.lstrip(" ")
            line = draw(ws) + body if not body.startswith("#") else line
            if re.match(r"^\s*my\s+\$currentMinor\s*=", line):
                line = re.sub(r"\s*=\s*", lambda m: draw(ws) + "=" + draw(ws), line, count=1)
            if re.search(r"if \(\$minor [<>] \$currentMinor\)", line):
                line = re.sub(
                    r"\(\$minor ([<>]) \$currentMinor\)",
                    lambda m: (
                        "("
                        + draw(ws)
                        + "$minor"
                        + draw(ws)
                        + m.group(1)
                        + draw(ws)
                        + "$currentMinor"
                        + draw(ws)
                        + ")"
                    ),
                    line,
                )
            if (
                re.search(r"[;{}]\s*$", line)
                and "'" not in line.split(";")[-1]
                and draw(st.booleans())
            ):
                line += draw(ws1) + "# " + draw(comment_text)
            if draw(st.integers(0, 9)) == 0:
                out.append(draw(ws) + "# " + draw(comment_text))
        if in_fn and line.startswith("}"):
            in_fn = False
        out.append(line)
    result = "\n".join(out)
    if draw(st.booleans()):
        result = result.replace("\n", "\r\n")
    return result


@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_classification_is_invariant(variant: str, data: st.DataObject) -> None:
    text = data.draw(mangled(TEXTS[variant]))
    a = installer.analyse_text(text, path="x")
    ref = installer.analyse_text(TEXTS[variant], path="x")
    assert a.selection_bug == VARIANTS[variant], a.reason
    assert a.current_minor == ref.current_minor
    assert a.driver_dirs == ref.driver_dirs


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
@pytest.mark.parametrize("variant", ["9.2.2", "blog-hand-patched", "9.9.2"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_execution_agrees_on_mangled_files(variant: str, data: st.DataObject) -> None:
    text = data.draw(mangled(TEXTS[variant]))
    a = installer.analyse_text(text, path="x")
    ex = execute(text, modules=("vmxnet3s", "vmmemctl", "vmhgfs"))
    assert ex.ran, ex.reason
    executed = ex.driver_dirs(("vmxnet3s", "vmmemctl", "vmhgfs"))
    for guest, modules in a.driver_dirs.items():
        got = executed[guest]
        for m in ("vmxnet3s", "vmmemctl", "vmhgfs"):
            assert (modules or {}).get(m) == (got or {}).get(m), (guest, m)


def test_damaged_comment_markers_do_not_change_the_verdict() -> None:
    damaged = re.sub(r"(?m)^(\s*)#", r"\1***REMOVED***", TEXTS["9.2.2"])
    a = installer.analyse_text(damaged, path="x")
    assert a.selection_bug == installer.PRESENT
    assert a.damaged_comments > 0


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda t: t.replace("sub configure_module_solaris", "sub configure_module_sunos"),
            "not found",
        ),
        (
            lambda t: re.sub(r"my \$currentMinor = 10;", "my $currentMinor = max_minor();", t),
            "currentMinor",
        ),
        (
            lambda t: t.replace("if ($minor < $currentMinor) {", "if (minor_ok($minor)) {"),
            "comparison",
        ),
        (
            lambda t: t.replace("my $currentMinor = 10;", "my $currentMinor = 9;"),
            "matches no known",
        ),
    ],
)
def test_refactors_are_unknown_never_fixed(edit: object, reason: str) -> None:
    text = edit(TEXTS["9.2.2"])  # type: ignore[operator]
    a = installer.analyse_text(text, path="x")
    assert a.selection_bug == installer.UNKNOWN
    assert reason in a.reason
    assert a.driver_dirs == {}


IF_ELSE = """  if ($minor < $currentMinor) {
    $osDir = $minor;
  } else {
    $osDir = $currentMinor;
  }"""


@pytest.mark.parametrize(
    ("replacement", "state"),
    [
        ("  $osDir = ($minor < $currentMinor) ? $minor : $currentMinor;", installer.PRESENT),
        ("  $osDir = $currentMinor > $minor ? $minor : $currentMinor;", installer.PRESENT),
        ("  $osDir = min($minor, $currentMinor);", installer.PRESENT),
        ("  $osDir = ($minor > $currentMinor) ? $minor : $currentMinor;", installer.HAND_PATCHED),
        ("  $osDir = ($minor < $currentMinor) ? $currentMinor : $minor;", installer.HAND_PATCHED),
    ],
)
def test_one_line_refactors_of_the_comparison(replacement: str, state: str) -> None:
    assert IF_ELSE in TEXTS["9.2.2"]
    text = TEXTS["9.2.2"].replace(IF_ELSE, replacement)
    a = installer.analyse_text(text, path="x")
    assert a.selection_bug == state, a.reason
    if shutil.which("perl"):
        ex = execute(text, modules=("vmxnet3s",))
        assert ex.ran, ex.reason
        for guest, modules in a.driver_dirs.items():
            got = ex.driver_dirs(("vmxnet3s",))[guest]
            assert (modules or {}).get("vmxnet3s") == (got or {}).get("vmxnet3s"), guest


def test_patch_handles_a_cap_declared_without_my(tmp_path: Path) -> None:
    from toolsfix.patcher import patch_file

    text = TEXTS["9.2.2"].replace("my $currentMinor = 10;", "$currentMinor = 10;")
    script = tmp_path / "cfg.pl"
    script.write_text(text)
    out = patch_file(script, run_perl=False)
    assert out.action == "patched"
    assert "  $currentMinor = 11;" in script.read_text()
