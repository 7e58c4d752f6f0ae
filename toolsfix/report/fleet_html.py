"""Fleet HTML: one self-contained static page to hand to whoever owns the templates.

No external assets (no CDN, fonts or images) and a Content-Security-Policy that forbids loading
any, so the file opens the same from a CI artifact store, a mail attachment or an air-gapped
laptop. A few lines of inline vanilla JavaScript sort the table by any column; without
JavaScript the page is still complete. Every value is HTML-escaped: paths, messages and
evidence quote text captured on guests, which an attacker on a guest can choose.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, TextIO

from toolsfix import __version__
from toolsfix.report.fleet import FleetRenderer

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, Item

STATUS_ORDER = {"findings": 0, "not-evaluable": 1, "error": 2, "timeout": 3, "ok": 4}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#eee;cursor:pointer;user-select:none}
th[data-dir=asc]::after{content:" \\25B2"}th[data-dir=desc]::after{content:" \\25BC"}
.critical,.high{color:#a00;font-weight:bold}.medium{color:#a60}.low,.info{color:#555}
.findings{background:#fdd}.ok{background:#dfd}.error,.timeout,.not-evaluable{background:#eee}
details{margin:.4em 0;border:1px solid #ddd;padding:.3em .6em}summary{cursor:pointer}
code,pre{white-space:pre-wrap;word-break:break-all}.num{text-align:right}
"""

SCRIPT = """
document.querySelectorAll("th[data-col]").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], col = +th.dataset.col;
    var asc = th.dataset.dir !== "asc";
    th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = asc ? "asc" : "desc";
    function key(row) {
      var c = row.cells[col];
      return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent;
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


class FleetHtmlRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        s = result.summary()
        out.write(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f"<title>toolsfix audit: {s['items']} item(s)</title>\n<style>{STYLE}</style>\n"
            "</head>\n<body>\n"
        )
        out.write(f"<h1>toolsfix audit</h1>\n{_headline(result, s)}\n")
        out.write(_fix_first(s))
        out.write(_items_table(result))
        out.write("<h2>Items</h2>\n")
        for item in result.items:
            out.write(_details(item))
        out.write(f"<p><small>toolsfix {e(__version__)}</small></p>\n")
        out.write(f"<script>{SCRIPT}</script>\n</body>\n</html>\n")


def _headline(result: AuditResult, s: dict[str, Any]) -> str:
    parts = [f"{e(n)} {e(k)}" for k, n in s["by_status"].items() if n]
    text = f"<p>{e(s['items'])} item(s): {', '.join(parts) or 'none'}; worst severity "
    text += f"{e(s['worst_severity'] or 'none')}; exit code {e(s['exit_code'])} "
    text += f"(--fail-on {e(s['fail_on'])}).</p>"
    if result.partial:
        text += (
            f"<p><strong>Partial report:</strong> interrupted after {e(s['items'])} of "
            f"{e(s['planned'])} item(s).</p>"
        )
    return text


def _fix_first(s: dict[str, Any]) -> str:
    if not s["fix_first"]:
        return ""
    rows = "".join(
        f'<li><b>{e(x["id"])}</b> <span class="{e(x["severity"])}">{e(x["severity"])}</span> '
        f"{e(x['title'])}: {e(x['items'])} item(s)<br><small>{e(x['remedy'])}</small></li>"
        for x in s["fix_first"][:10]
    )
    return f"<h2>What to fix first</h2>\n<ol>{rows}</ol>\n"


def _items_table(result: AuditResult) -> str:
    heads = ("Input", "Kind", "Status", "Worst", "Findings", "OS release", "Tools", "Checks")
    th = "".join(f'<th data-col="{n}">{e(h)}</th>' for n, h in enumerate(heads))
    rows: list[str] = []
    for item in result.items:
        worst = item.worst()
        ids = " ".join(dict.fromkeys(f.id for f in item.findings))
        rows.append(
            f'<tr class="{e(item.status)}">'
            f'<td><a href="#item-{item.index}">{e(item.input)}</a></td>'
            f"<td>{e(item.kind or '?')}</td>"
            f'<td data-sort="{STATUS_ORDER.get(item.status, 9)}">{e(item.status)}</td>'
            f'<td data-sort="{-1 if worst is None else int(worst)}" class="{e(worst)}">'
            f"{e(worst or '-')}</td>"
            f'<td class="num">{len(item.findings)}</td>'
            f"<td>{e(item.os_release or '')}</td><td>{e(item.tools or '')}</td>"
            f"<td>{e(ids)}</td></tr>"
        )
    return (
        f'<h2>All items</h2>\n<table id="items">\n<thead><tr>{th}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
    )


def _details(item: Item) -> str:
    head = f"{e(item.input)}: {e(item.status)}, {len(item.findings)} finding(s)"
    body: list[str] = []
    if item.error:
        body.append(f"<p>{e(item.error)}</p>")
    for f in item.findings:
        body.append(
            f'<li><b>{e(f.id)}</b> <span class="{e(f.severity)}">{e(f.severity)}</span> '
            f"{e(f.category)}: {e(f.message)}<br><small>evidence: <code>{e(f.evidence)}</code>"
            f"<br>remedy: {e(f.remedy)}</small></li>"
        )
    if item.findings:
        body.insert(1 if item.error else 0, "<ul>")
        body.append("</ul>")
    if item.waived:
        body.append(f"<p>{item.waived} finding(s) waived (see the JSON report).</p>")
    if item.baseline:
        b = item.baseline
        body.append(
            f"<p>Baseline: {e(b['new'])} new, {e(b['fixed'])} fixed, {e(b['unchanged'])} "
            "unchanged.</p>"
        )
    return (
        f'<details id="item-{item.index}" class="{e(item.status)}"><summary>{head}</summary>'
        + "".join(body)
        + "</details>\n"
    )
