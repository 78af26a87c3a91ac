// `smgate report compliance`: the configuration mapped to GB/T 39786-2021 level-3 requirements, as Markdown
// (default) or HTML, to stdout or a file.
import { writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { loadConfig } from "../policy/config.js";
import { loadPolicy } from "../policy/policy-loader.js";
import { buildComplianceReport } from "../report/compliance.js";
import { renderHtml, renderMarkdown } from "../report/render.js";

export function registerReportCommands(program: Command): void {
  const report = program.command("report").description("reports about the running configuration");
  report
    .command("compliance")
    .description("map the configuration to GB/T 39786-2021 level-3 requirements (storage/transmission, keys, audit)")
    .requiredOption("-c, --config <file>", "smgate.yaml")
    .addOption(new Option("--format <format>", "output format").choices(["md", "html"]).default("md"))
    .option("-o, --out <file>", "write to this file instead of stdout")
    .action((opts: { config: string; format: "md" | "html"; out?: string }) => {
      const cfg = loadConfig(opts.config);
      const rep = buildComplianceReport(opts.config, cfg, loadPolicy(cfg.policy));
      const text = opts.format === "html" ? renderHtml(rep) : renderMarkdown(rep);
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
}
