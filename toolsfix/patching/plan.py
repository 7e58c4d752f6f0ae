"""Deciding whether and how to patch a configurator, and proving the result.

Pure with respect to the file system: bytes in, a :class:`Plan` (new bytes and the reason) out,
so every target kind (a lone script, a directory distrib, an archive member, an image root)
gets the same decision, and a refusal is raised before anything is opened for writing.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from toolsfix import __version__, installer
from toolsfix.configurator import applies_to_solaris
from toolsfix.distrib import Inventory
from toolsfix.errors import ExitCode, RefusedError, ToolsfixError
from toolsfix.installer import Analysis
from toolsfix.patchdefs import PatchDef, load_patches
from toolsfix.perl import compile_check, execute
from toolsfix.perltext import split_lines


@dataclass(frozen=True)
class Plan:
    """What patching would do: the decision, the reason and, if any, the new text."""

    action: str  # patch | already-patched | not-needed | not-applicable
    reason: str
    before: Analysis
    patch: Optional[PatchDef] = None
    new_data: Optional[bytes] = None
    forced: tuple[str, ...] = ()

    def diff(self, old: bytes, label: str) -> str:
        if self.new_data is None:
            return ""
        a = old.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        b = self.new_data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        return "".join(difflib.unified_diff(a, b, f"a/{label}", f"b/{label}"))


@dataclass(frozen=True)
class Outcome:
    """Result of a patch run, for the CLI to render."""

    target: str
    action: str
    reason: str
    patch_id: Optional[str] = None
    backup: Optional[str] = None
    diff: str = ""
    verified: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    written: Optional[str] = None

    def exit_code(self, *, check: bool = False) -> ExitCode:
        """0, or 1 for ``--check`` when a patch is needed (refusals and failed verification
        are raised as errors with their own codes, never returned here)."""
        return ExitCode.FINDINGS if check and self.action == "would-patch" else ExitCode.OK


def apply_edits(text: str, patch: PatchDef, before: Analysis) -> str:
    """Apply the edits inside the function only; every edit must match exactly ``count`` times."""
    if before.function is None:
        raise RefusedError(f"{before.path}: {patch.function} not found; nothing to patch")
    eol = "\r\n" if before.line_ending == "crlf" else "\n"
    trailing = text.endswith("\n")
    lines = split_lines(text)
    span = before.function
    first_edit_line: Optional[int] = None
    indent = ""
    for edit in patch.edits:
        hits = [i for i in range(span.start - 1, span.end) if edit.find.match(lines[i]) is not None]
        if len(hits) != edit.count:
            raise RefusedError(
                f"{before.path}: patch {patch.id}: edit '{edit.name}' matched {len(hits)} "
                f"line(s) in {patch.function}, expected {edit.count}; file not recognised"
            )
        for i in hits:
            m = edit.find.match(lines[i])
            assert m is not None
            groups = {k: (v or "") for k, v in m.groupdict().items()}
            lines[i] = edit.replace.format(**groups)
            if first_edit_line is None or i < first_edit_line:
                first_edit_line = i
                indent = groups.get("indent", lines[i][: len(lines[i]) - len(lines[i].lstrip())])
    assert first_edit_line is not None
    marker = patch.marker.format(indent=indent, id=patch.id, version=__version__)
    lines.insert(first_edit_line, marker)
    return eol.join(lines) + (eol if trailing else "")


def expect_problems(after: Analysis, patch: PatchDef) -> list[str]:
    """Differences between the re-analysed file and what the patch promises."""
    problems: list[str] = []
    if after.selection_bug != patch.expect["selection_bug"]:
        problems.append(f"selection_bug is {after.selection_bug} ({after.reason})")
    if after.current_minor != patch.expect["current_minor"]:
        problems.append(f"current_minor is {after.current_minor}")
    for guest, modules in patch.expect.get("driver_dirs", {}).items():
        got = after.driver_dirs.get(guest) or {}
        for module, pair in modules.items():
            have = got.get(module)
            if have is not None and list(have) != pair:
                problems.append(f"{guest}/{module}: {list(have)} instead of {pair}")
    return problems


def plan(
    data: bytes,
    label: str,
    *,
    force: bool = False,
    has_solaris11_builds: Optional[bool] = None,
    patches: Optional[Sequence[PatchDef]] = None,
    layout: Optional[str] = None,
) -> Plan:
    """Decide what to do with one configurator; raises RefusedError when it is not safe.

    A Linux distrib (its ``vmware_product`` says so, or its drivers are in the Linux layout)
    is ``not-applicable``: ``configure_module_solaris`` ships in it but never runs there, so
    there is nothing to patch, with or without ``--force``.
    """
    text = installer.decode(data)
    before = installer.analyse_text(text, path=label, data=data)
    state = before.selection_bug
    rule = applies_to_solaris(before.product, layout)  # the product rule scan applies too
    if not rule.applies:
        return Plan("not-applicable", f"{rule.reason}; nothing to patch", before)
    if state == installer.PATCHED:
        return Plan("already-patched", f"already patched by {before.marker_patch}", before)
    if state == installer.ABSENT:
        return Plan("not-needed", f"vendor-fixed: {before.reason}", before)
    forced: list[str] = []
    defs = list(patches) if patches is not None else load_patches()
    candidates = [p for p in defs if state in p.applies_to]
    if not candidates:
        if not force:
            raise RefusedError(
                f"{label}: selection logic is {state} ({before.reason}); refusing to patch "
                "an unrecognised variant (use --force to apply the $currentMinor edit anyway)"
            )
        forced.append(f"variant {state}")
        candidates = [p for p in defs if "present" in p.applies_to]
    if before.damaged_comments:
        if not force:
            raise RefusedError(
                f"{label}: damaged file ({before.damaged_comments} comment markers replaced by "
                "***REMOVED***; it cannot run as is); refusing without --force"
            )
        forced.append("damaged comments")
    if has_solaris11_builds is False:
        if not force:
            raise RefusedError(
                f"{label}: the distrib ships no 11/11_64 driver builds, so the patch cannot help; "
                "refusing without --force"
            )
        forced.append("no Solaris 11 builds")
    errors: list[str] = []
    for patch in candidates:
        try:
            new_text = apply_edits(text, patch, before)
        except RefusedError as exc:
            errors.append(str(exc))
            continue
        new_data = new_text.encode("utf-8", "surrogateescape")
        after = installer.analyse_text(new_text, path=label, data=new_data)
        problems = expect_problems(after, patch)
        if problems and not forced:
            errors.append(f"{label}: patch {patch.id} would not verify: {'; '.join(problems)}")
            continue
        return Plan("patch", patch.title, before, patch, new_data, tuple(forced))
    raise RefusedError(errors[0] if errors else f"{label}: no patch applies")


def verify_patched(
    new_data: bytes,
    label: str,
    patch: PatchDef,
    *,
    run_perl: bool,
    path: Optional[Path] = None,
    original_compiled: Optional[bool] = None,
) -> list[str]:
    """Re-analyse and, where possible, execute the patched logic; returns what was proven."""
    text = installer.decode(new_data)
    after = installer.analyse_text(text, path=label, data=new_data)
    problems = expect_problems(after, patch)
    if problems:
        raise ToolsfixError(
            f"{label}: verification failed after writing: {'; '.join(problems)}",
            ExitCode.VERIFY_FAILED,
        )
    proven = [f"re-analysis: selection {after.selection_bug}, $currentMinor {after.current_minor}"]
    if run_perl:
        ex = execute(text)
        if ex.ran:
            for guest, modules in patch.expect.get("driver_dirs", {}).items():
                for module, pair in modules.items():
                    got = ex.module_dirs(guest, module)
                    if got is not None and list(got) != pair:
                        raise ToolsfixError(
                            f"{label}: executed logic copies {module} from {list(got)} on "
                            f"{guest}, expected {pair}",
                            ExitCode.VERIFY_FAILED,
                        )
            proven.append("execution under perl: Solaris 11 guests get the 11/11_64 builds")
        else:
            proven.append(f"execution skipped: {ex.reason}")
        if original_compiled:
            check = compile_check(text)
            if check.compiles is False:
                where = f" at line {check.line}" if check.line else ""
                raise ToolsfixError(
                    f"{label}: the patched file does not compile{where}: "
                    f"{check.error or check.reason}",
                    ExitCode.VERIFY_FAILED,
                )
            proven.append("compile check (sandboxed, none of its code run): syntax OK")
    return proven


def solaris11_builds(inv: Inventory) -> tuple[Optional[bool], str]:
    """Whether the distrib ships 11/11_64 builds (None: not a Solaris layout) and its layout.

    The patch only helps when there is a Solaris 11 build to select, so :func:`plan` refuses
    without one; a Linux layout has no such question.
    """
    layout = inv.layout()
    if layout != "solaris":
        return None, layout
    return any(d in ("11", "11_64") for d, _ in inv.solaris_builds()), layout
