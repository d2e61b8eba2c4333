// The ingest benchmark's load generator: a separate process that sends one prepared OTLP payload over
// and over, `concurrency` requests at a time, for `seconds` (or until SIGTERM), and prints what was answered as JSON.
// Usage: node dist/bench/load-generator.js <http|grpc> <target> <payload-file> <seconds> <concurrency>
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { postTraces } from './otlp-http-post.js';

const [transport, target, payloadFile, secondsText, concurrencyText] = process.argv.slice(2);
const payload = readFileSync(payloadFile);
let deadline = Date.now() + Number(secondsText) * 1000;
// SIGTERM ends the run early (bench/ingest.ts ends a sidecar's warm-up so, once the sidecar is past its first
// snapshot): no new request is sent, those in flight are answered, and the counts are printed as at the deadline.
process.once('SIGTERM', () => (deadline = 0));
const concurrency = Number(concurrencyText);
const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

let ok = 0;
let failed = 0;

async function sendHttp(agent: Agent): Promise<void> {
  if ((await postTraces(target, agent, payload)) === 200) ok += 1;
  else failed += 1;
}

function sendGrpc(client: Client): Promise<void> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      TRACE_EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      payload,
      new Metadata(),
      (error) => {
        if (error) failed += 1;
        else ok += 1;
        resolve();
      },
    );
  });
}

async function worker(send: () => Promise<void>): Promise<void> {
  while (Date.now() < deadline) await send();
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  if (transport === 'http') {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    await Promise.all(Array.from({ length: concurrency }, () => worker(() => sendHttp(agent))));
    agent.destroy();
  } else {
    const client = new Client(target, credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    await Promise.all(Array.from({ length: concurrency }, () => worker(() => sendGrpc(client))));
    client.close();
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ ok, failed, elapsedSeconds })}\n`);
}

void main();
