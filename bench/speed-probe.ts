// The ingest benchmark's machine-speed probe: a fixed CPU workload (the field-selective decoder over the
// benchmark's payload, warmed up, then timed) in a fresh process on the receivers' core, run just before each
// turn. It prints CPU microseconds per decode. On this benchmark's shared 2-core VM the receivers' core was
// seen to run at two speeds about 1.6x apart (the probe reading ~500 or ~850 us, 2026-11-30), switching
// within tens of seconds; a sidecar's spans per CPU-second follow it, within one process too. The probe does
// not change any figure: it says, per row, in which state of the machine its turns ran.
// Usage: node dist/bench/speed-probe.js <payload-file>
import { readFileSync } from 'node:fs';
import { decodeTraceRequest } from '../src/otlp/decode/traces.js';

const WARMUP_DECODES = 300;
const TIMED_DECODES = 400;

const bytes = readFileSync(process.argv[2]);
let spans = 0;
for (let i = 0; i < WARMUP_DECODES; i++) spans += decodeTraceRequest(bytes).spans.length;
const before = process.cpuUsage();
for (let i = 0; i < TIMED_DECODES; i++) spans += decodeTraceRequest(bytes).spans.length;
const used = process.cpuUsage(before);
if (spans === 0) throw new Error('the probe payload decoded to no spans');
process.stdout.write(`${((used.user + used.system) / TIMED_DECODES).toFixed(1)}\n`);
