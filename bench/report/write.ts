// Writes a run's result as <stamp>.json, <stamp>.md and <stamp>.svg into the results folder, and re-renders
// the .md/.svg of a saved JSON.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BenchResult } from "../result.js";
import { renderMarkdown } from "./markdown.js";
import { renderSvg } from "./svg.js";

/** "2026-11-23T17:35:02.123Z" → "2026-11-23T17-35-02Z" (sortable, safe in file names). */
export function resultStamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

export interface WrittenFiles {
  json: string;
  markdown: string;
  svg: string;
}

function filesFor(result: BenchResult, dir: string): WrittenFiles {
  const stamp = resultStamp(result.startedAt);
  return { json: join(dir, `${stamp}.json`), markdown: join(dir, `${stamp}.md`), svg: join(dir, `${stamp}.svg`) };
}

async function writeRenderings(result: BenchResult, files: WrittenFiles): Promise<void> {
  const stamp = resultStamp(result.startedAt);
  await writeFile(files.markdown, renderMarkdown(result).replace(/\n$/, `\n\n![throughput chart](${stamp}.svg)\n`));
  await writeFile(files.svg, renderSvg(result));
}

export async function writeResultFiles(result: BenchResult, dir: string): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const files = filesFor(result, dir);
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeRenderings(result, files);
  return files;
}

/** Re-renders the markdown and SVG of a saved run from its JSON (e.g. after a report change); data untouched. */
export async function rerenderResultFiles(jsonPath: string): Promise<{ result: BenchResult; files: WrittenFiles }> {
  const result = JSON.parse(await readFile(jsonPath, "utf8")) as BenchResult;
  if (result.schema !== "smgate-bench/1") throw new Error(`bench: ${jsonPath} is not a smgate-bench/1 result file`);
  const files = filesFor(result, dirname(jsonPath));
  await writeRenderings(result, files);
  return { result, files };
}
