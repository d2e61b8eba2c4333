// The ingest benchmark's real path without HTTP, in one process: the same 512-span payload, decoded, its span
// times checked, attributed and accumulated as the sidecar does per request (src/otlp/signals.ts, sidecar.ts),
// with `analyses` analyses routed as bench/ingest.ts configures them (analysis-0 matches the payload's service
// and flag, joined by trace; the others name other services and flags). It prints the process's CPU per
// request in the measured window, so what one analysis costs per request above none can be compared between
// builds in alternated fresh processes, without the HTTP stack's and the load generator's share of the noise.
//
// Usage: node dist/bench/one-analysis.js [analyses=1] [seconds=5]
// (pinned like the ingest benchmark's receivers: `taskset -c 1 node --max-semi-space-size=8 ...`).
import { Registry } from 'prom-client';
import { Accumulator } from '../src/accumulate/accumulator.js';
import { AttributionPipeline } from '../src/attribution/pipeline.js';
import { analysisSchema, attributionLimitsSchema } from '../src/config/analysis.js';
import { decodeTraceRequest } from '../src/otlp/decode/index.js';
import { withoutInvalidSpanTimes } from '../src/otlp/span-times.js';
import { buildTraceRequestPayload, ingestBenchAnalysis } from './payloads.js';

const analyses = Number(process.argv[2] ?? 1);
const seconds = Number(process.argv[3] ?? 5);
const WARMUP_MS = 3000;
/** The judge's tick reads each run's evidence, which moves its watermark (run-evidence.ts); every 500 ms here. */
const READ_EVERY_MS = 500;

const payload = buildTraceRequestPayload({ spans: 512 });
const accumulator = new Accumulator();
const pipeline = new AttributionPipeline({
  limits: attributionLimitsSchema.parse({}),
  sink: accumulator,
  registry: new Registry(),
});
for (let i = 0; i < analyses; i++) {
  accumulator.open(`run-${i}`, { startedAtMs: 0, canaryShare: null });
  pipeline.routeRun(`run-${i}`, analysisSchema.parse(ingestBenchAnalysis(i)));
}

/** One export request: its body copied into a buffer of its own, as the HTTP receiver copies each body. */
function request(): void {
  const body = new Uint8Array(payload.length);
  body.set(payload);
  pipeline.acceptSpans(withoutInvalidSpanTimes(decodeTraceRequest(body)));
}

function readEvidence(): void {
  for (let i = 0; i < analyses; i++) accumulator.read(`run-${i}`);
}

const warmEnd = Date.now() + WARMUP_MS;
while (Date.now() < warmEnd) request();
readEvidence();
const cpuBefore = process.cpuUsage();
let requests = 0;
const end = Date.now() + seconds * 1000;
let nextRead = Date.now() + READ_EVERY_MS;
while (Date.now() < end) {
  for (let k = 0; k < 20; k++) request();
  requests += 20;
  if (Date.now() >= nextRead) {
    readEvidence();
    nextRead += READ_EVERY_MS;
  }
}
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    analyses,
    requests,
    cpuSeconds,
    usPerRequest: Number(((cpuSeconds * 1e6) / requests).toFixed(1)),
    spansPerCpuSecond: Math.round((requests * 512) / cpuSeconds),
  })}\n`,
);
