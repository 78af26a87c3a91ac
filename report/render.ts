// Renders a compliance report as Markdown or as a self-contained HTML page (escaped, no scripts).
import type { ComplianceReport, Status } from "./compliance.js";

const LABEL: Record<Status, string> = {
  met: "met",
  partial: "partially met",
  not_met: "not met",
  not_applicable: "n/a",
};

function mdCell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderMarkdown(rep: ComplianceReport): string {
  const out: string[] = [];
  out.push("# smgate compliance report — GB/T 39786-2021 level 3", "");
  out.push(`Generated ${rep.generatedAt} from \`${rep.configFile}\` (policy \`${rep.policyFile}\`).`, "");
  out.push("| requirement | status | evidence | action |", "| --- | --- | --- | --- |");
  for (const r of rep.requirements) {
    out.push(
      `| ${mdCell(r.title)} (${mdCell(r.area)}) | **${LABEL[r.status]}** | ${r.evidence.map(mdCell).join("<br>")} | ${mdCell(r.action ?? "")} |`,
    );
  }
  out.push("", "## Protected columns", "", "| column | protection | algorithm | key |", "| --- | --- | --- | --- |");
  for (const c of rep.columns) out.push(`| ${c.column} | ${c.protection} | ${mdCell(c.algorithm)} | ${c.key} |`);
  if (rep.keys) {
    out.push("", "## Keys", "");
    out.push(`${rep.keys.total} keys, provider \`${rep.keys.provider}\`: ${JSON.stringify(rep.keys.byState)}`);
  }
  return `${out.join("\n")}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(rep: ComplianceReport): string {
  const rows = rep.requirements
    .map(
      (r) =>
        `<tr class="${r.status}"><td>${esc(r.title)}<br><small>${esc(r.area)}</small></td><td>${esc(LABEL[r.status])}</td><td><ul>${r.evidence
          .map((e) => `<li>${esc(e)}</li>`)
          .join("")}</ul></td><td>${esc(r.action ?? "")}</td></tr>`,
    )
    .join("\n");
  const cols = rep.columns
    .map(
      (c) =>
        `<tr><td>${esc(c.column)}</td><td>${esc(c.protection)}</td><td>${esc(c.algorithm)}</td><td>${esc(c.key)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>smgate compliance report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}
tr.met td:nth-child(2){color:#176b2c}tr.partial td:nth-child(2){color:#9a6700}tr.not_met td:nth-child(2){color:#b3261e}</style></head>
<body><h1>smgate compliance report — GB/T 39786-2021 level 3</h1>
<p>Generated ${esc(rep.generatedAt)} from <code>${esc(rep.configFile)}</code> (policy <code>${esc(rep.policyFile)}</code>).</p>
<table><tr><th>requirement</th><th>status</th><th>evidence</th><th>action</th></tr>
${rows}
</table>
<h2>Protected columns</h2>
<table><tr><th>column</th><th>protection</th><th>algorithm</th><th>key</th></tr>
${cols}
</table>
</body></html>
`;
}
