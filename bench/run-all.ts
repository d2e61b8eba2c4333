// `npm run bench`: runs every benchmark, one process each so none disturbs another, and writes
// bench/results/summary.md from their tables. Each benchmark reports ratios against a baseline measured
// in its own run (or counts), so the figures mean something on a noisy machine; none ever fails CI.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './results.js';

const BENCHMARKS: Array<{ name: string; file: string; what: string }> = [
  {
    name: 'decode',
    file: 'decode.js',
    what: 'OTLP decoding: field-selective decoder vs protobufjs and JSON, one realistic batch',
  },
  {
    name: 'ingest',
    file: 'ingest.js',
    what: 'OTLP/HTTP-protobuf and gRPC into the sidecar vs a null receiver, load from a separate process',
  },
  {
    name: 'ingest-latency',
    file: 'ingest-latency.js',
    what: 'latency of small OTLP/HTTP exports every 20 ms while the judge ticks and snapshots over 0 and 1 000 running analyses under traffic, in alternated rounds',
  },
  {
    name: 'attribution',
    file: 'attribution.js',
    what: 'attribution with the trace join vs decode-only ingest on the same batches',
  },
  {
    name: 'judge-tick',
    file: 'judge-tick.js',
    what: 'one judge tick for 1 000 analyses (the first, then with new evidence in every run, then in none) vs the 5 s tick interval',
  },
  {
    name: 'overload',
    file: 'overload.js',
    what: 'the sidecar at 2x its measured capacity, OTLP/HTTP and gRPC, 1k and 20k-span batches: shedding, event-loop delay, RSS',
  },
  {
    name: 'fleet',
    file: 'fleet.js',
    what: 'fleet mode at the judging instance: merge cost per forwarded state, and judging with 1, 4 and 16 forwarders vs one instance fed the same spans',
  },
  {
    name: 'report-page',
    file: 'report-page.js',
    what: 'report page weight and first render in headless chromium vs an empty page, same browser and run',
  },
  {
    name: 'footprint',
    file: 'footprint.js',
    what: 'the sidecar process beside a service instrumented with the real OTel JS SDK, idle and at 1k and 5k spans/s: CPU share and RSS vs the Collector scaled',
  },
  {
    name: 'detection',
    file: 'detection.js',
    what: 'time to detect regressions and A/A false-fail rate vs repeated fixed-horizon tests and a Flagger-style threshold',
  },
];

const only = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const sections: string[] = [];
for (const bench of BENCHMARKS) {
  const ran = only.length === 0 || only.includes(bench.name);
  let seconds = 0;
  if (ran) {
    process.stdout.write(`\n== ${bench.name}: ${bench.what}\n`);
    const started = Date.now();
    execFileSync(process.execPath, [`${here}${bench.file}`], { stdio: 'inherit' });
    seconds = Math.round((Date.now() - started) / 1000);
  }
  // The summary always has every benchmark: those not run now keep their last results, marked as such.
  let text: string;
  try {
    text = readFileSync(`${resultsDir}${bench.name}.md`, 'utf8');
  } catch {
    continue;
  }
  const table = text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .join('\n');
  const when = /- date: (\S+)/.exec(text)?.[1] ?? 'unknown date';
  const how = ran ? `${seconds} s` : `not re-run; results of ${when}`;
  sections.push(
    `## ${bench.name}\n\n${bench.what} (\`npm run bench -- ${bench.name}\`, ${how})\n\n${table}\n`,
  );
}
const machine = Object.entries(machineInfo())
  .map(([key, value]) => `${key}: ${value}`)
  .join(', ');
writeFileSync(`${resultsDir}summary.md`, `# canary-judge benchmarks\n\n${machine}\n\n${sections.join('\n')}`);
process.stdout.write(`\nwrote ${resultsDir}summary.md\n`);
