// Writes a benchmark's rows as bench/results/<name>.json and .md, with the machine they ran on, and prints the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export type ResultRow = Record<string, string | number>;

export function markdownTable(rows: ResultRow[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const columns = Object.keys(rows[0]);
  const lines = [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${columns.map((column) => String(row[column] ?? '')).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

export function machineInfo(): Record<string, string | number> {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

export function writeResults(
  name: string,
  rows: ResultRow[],
  details: Record<string, string | number> = {},
): void {
  // dist/bench/ and bench/ both resolve to <root>/bench/results.
  const here = fileURLToPath(new URL('.', import.meta.url));
  const dir = here.includes('/dist/bench')
    ? here.replace(/\/dist\/bench\/?$/, '/bench/results')
    : `${here.replace(/\/$/, '')}/results`;
  mkdirSync(dir, { recursive: true });
  const machine = machineInfo();
  const table = markdownTable(rows);
  writeFileSync(`${dir}/${name}.json`, `${JSON.stringify({ name, machine, details, rows }, null, 2)}\n`);
  const context = Object.entries({ ...machine, ...details })
    .map(([key, value]) => `- ${key}: ${value}`)
    .join('\n');
  writeFileSync(`${dir}/${name}.md`, `# ${name}\n\n${table}\n${context}\n`);
  process.stdout.write(`\n${name}\n${table}`);
}
