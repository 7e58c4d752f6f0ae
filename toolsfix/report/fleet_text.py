"""Fleet text: what a person reads first, in the order they need it.

One headline (how many items, how many need attention), the worst items first (so the top of
a long log is what matters), then "what to fix first" (the checks that hit the most items at
the highest severity: one fix there clears the most), then counts by category x severity, by
Tools version and build, and by OS release. Clean items are counted, not listed; the list of
items is capped (every item is in the JSON, CSV and HTML reports). No line is longer than
LINE_MAX characters, whatever the paths and messages are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from toolsfix.report.fleet import FleetRenderer, clip

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, Item

LINE_MAX = 200
MAX_LISTED = 50
FIX_FIRST = 5


class FleetTextRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        lines = _lines(result)
        out.write("\n".join(clip(line, LINE_MAX) if line else "" for line in lines) + "\n")


def _lines(result: AuditResult) -> list[str]:
    s = result.summary()
    status = s["by_status"]
    lines = [
        f"toolsfix audit: {s['items']} item(s): {status['ok']} ok, {status['findings']} with "
        f"findings at or above {s['fail_on']}, {status['not-evaluable']} not evaluable, "
        f"{status['error']} error(s), {status['timeout']} timed out"
    ]
    if result.partial:
        lines.append(
            f"PARTIAL: interrupted after {s['items']} of {s['planned']} item(s); "
            "the items not listed were not evaluated"
        )
    worst = s["worst_severity"] or "none"
    lines.append(f"worst severity: {worst}; exit code {s['exit_code']}")
    lines.extend(_worst_items(result))
    lines.extend(_fix_first(s))
    lines.extend(_grid(s))
    lines.extend(_counts("By Tools version", s["by_tools_version"]))
    lines.extend(_counts("By OS release", s["by_os_release"]))
    lines.extend(_policy(s))
    if s.get("ignored"):
        shown = ", ".join(s["ignored"][:5]) + (" ..." if len(s["ignored"]) > 5 else "")
        lines.append("")
        lines.append(f"ignored {len(s['ignored'])} path(s) that are none of the kinds: {shown}")
    return lines


def _item_line(item: Item) -> str:
    worst = item.worst()
    head = f"  {item.status:<13} {str(worst) if worst else '-':<8} {len(item.findings):>3}  "
    if item.error:  # errors name their input already
        named = item.error.startswith(item.input)
        return f"{head}{item.kind or '?':<7} " + (
            item.error if named else f"{item.input}: {item.error}"
        )
    head += f"{item.kind or '?':<7} {item.input}"
    about = ", ".join(
        x for x in (item.os_release, f"Tools {item.tools}" if item.tools else "") if x
    )
    ids = " ".join(dict.fromkeys(f.id for f in item.findings))
    return head + (f" ({about})" if about else "") + (f": {ids}" if ids else "")


def _worst_items(result: AuditResult) -> list[str]:
    attention = [i for i in result.worst_first() if i.status != "ok" or i.findings]
    clean = sum(1 for i in result.items if i.status == "ok" and not i.findings)
    header = f"  {'status':<13} {'worst':<8} {'#':>3}  {'kind':<7} input"
    lines = ["", "Worst first", header]
    lines.extend(_item_line(i) for i in attention[:MAX_LISTED])
    if len(attention) > MAX_LISTED:
        lines.append(
            f"  ... and {len(attention) - MAX_LISTED} more (every item is in the json, csv and "
            "html reports)"
        )
    if clean:
        lines.append(f"  {clean} item(s) without findings")
    if not result.items:
        lines.append("  (no items)")
    return lines


def _fix_first(s: dict[str, Any]) -> list[str]:
    if not s["fix_first"]:
        return []
    lines = ["", "What to fix first"]
    for n, e in enumerate(s["fix_first"][:FIX_FIRST], 1):
        lines.append(
            f"  {n}. {e['id']} [{e['severity']}] {e['category']} on {e['items']} item(s): "
            f"{e['title']}"
        )
        lines.append(f"     remedy (as for the first item): {e['remedy']}")
    return lines


def _grid(s: dict[str, Any]) -> list[str]:
    grid = s["by_category_severity"]
    if not grid:
        return []
    severities = list(s["by_severity"])
    width = max(len("category"), *(len(c) for c in grid))
    lines = ["", "Findings by category and severity"]
    lines.append(
        "  " + "category".ljust(width) + "".join(f"{x:>9}" for x in severities) + "    total"
    )
    for category, row in grid.items():
        cells = "".join(f"{row[x]:>9}" for x in severities)
        lines.append(f"  {category.ljust(width)}{cells}{sum(row.values()):>9}")
    return lines


def _counts(title: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    width = min(max(len(k) for k in counts), 120)
    return ["", title, *(f"  {k.ljust(width)}  {v} item(s)" for k, v in counts.items())]


def _policy(s: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    b = s.get("baseline")
    if b:
        lines += ["", f"Baseline {b['source']}: {b['new']} new, {b['fixed']} fixed, "
                  f"{b['unchanged']} unchanged"]  # fmt: skip
        if b["not_in_baseline"]:
            lines.append(f"  {len(b['not_in_baseline'])} item(s) not in the baseline (all new)")
        if b["not_run"]:
            lines.append(f"  {len(b['not_run'])} baseline item(s) not in this run")
    if s.get("waivers"):
        lines += ["", f"Waivers {s['waivers']}: {s['waived']} finding(s) waived"]
    return lines
