// The ingest-latency benchmark's client: a separate process that sends one small OTLP/HTTP-protobuf export
// every `intervalMs` for `seconds` (as an SDK's exporter beside a lightly loaded service would) and prints
// each answer's latency in ms as JSON. Usage: node dist/bench/latency-client.js <url> <payload-file>
// <seconds> <intervalMs> [--on-stdin]. With --on-stdin it starts sending when a line arrives on its stdin:
// the benchmark starts it before filling its runs, since starting a process (fork) from one holding 1 GB held
// that process's event loop ~25-35 ms, a stall of the benchmark's own that its window would otherwise count.
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { postTraces } from './otlp-http-post.js';

const [url, payloadFile, secondsText, intervalText, startFlag] = process.argv.slice(2);
const payload = readFileSync(payloadFile);
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const latencies: number[] = [];
let failed = 0;

async function send(): Promise<void> {
  const started = performance.now();
  const status = await postTraces(url, agent, payload);
  if (status === 200) latencies.push(performance.now() - started);
  else failed += 1;
}

async function main(): Promise<void> {
  if (startFlag === '--on-stdin') {
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
  }
  const deadline = performance.now() + Number(secondsText) * 1000;
  const pending: Promise<void>[] = [];
  // A fixed schedule, not back-to-back: a stalled receiver makes requests wait, not fewer requests sent.
  while (performance.now() < deadline) {
    pending.push(send());
    await new Promise((resolve) => setTimeout(resolve, Number(intervalText)));
  }
  await Promise.all(pending);
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ latencies, failed })}\n`);
}

void main();
