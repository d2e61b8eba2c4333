// The overload benchmark's load generator: an open-loop sender, in its own process. It starts one export
// request every 1/rate seconds whatever the answers (as many independent exporters would), up to
// `maxOutstanding` unanswered at once, for `seconds`, then prints how each was answered as JSON.
// gRPC calls go over raw HTTP/2 (a 5-byte gRPC prefix and the payload), so this process spends its time on
// the wire, not on grpc-js framing, and the receiver, not the generator, is what is measured.
// Usage: node dist/bench/overload-generator.js <http|grpc> <target> <payload-file> <seconds> <rate/s> <maxOutstanding>
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';

const [transport, target, payloadFile, secondsText, rateText, maxOutstandingText] = process.argv.slice(2);
const payload = readFileSync(payloadFile);
const seconds = Number(secondsText);
const rate = Number(rateText);
const maxOutstanding = Number(maxOutstandingText);
const TIMEOUT_MS = 10_000;

const answers: Record<string, number> = {};
let outstanding = 0;
let skipped = 0;
let sent = 0;
const count = (key: string): void => {
  answers[key] = (answers[key] ?? 0) + 1;
};

const agent = new Agent({ keepAlive: true, maxSockets: maxOutstanding });
function sendHttp(done: () => void): void {
  const req = request(`${target}/v1/traces`, {
    method: 'POST',
    agent,
    timeout: TIMEOUT_MS,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': payload.length },
  });
  req.on('response', (res) => {
    count(String(res.statusCode));
    res.resume();
    res.on('end', done);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (error) => {
    count(error.message === 'timeout' ? 'timeout' : 'error');
    done();
  });
  req.end(payload);
}

const prefix = Buffer.alloc(5);
prefix.writeUInt32BE(payload.length, 1);
const sessions: ClientHttp2Session[] = [];
let nextSession = 0;
function session(): ClientHttp2Session {
  // Eight connections, as a few exporters would open; each carries many streams.
  let s = sessions[nextSession % 8];
  nextSession += 1;
  if (!s || s.closed || s.destroyed) {
    // maxSessionMemory (MB): Node's 10 MB default resets streams (ENHANCE_YOUR_CALM) once a refused upload queues.
    s = connect(`http://${target}`, { maxSessionMemory: 1024 });
    s.on('error', () => undefined);
    sessions[(nextSession - 1) % 8] = s;
  }
  return s;
}
function sendGrpc(done: () => void): void {
  let status: string | undefined;
  let stream;
  try {
    stream = session().request({
      ':method': 'POST',
      ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
  } catch {
    count('error');
    done();
    return;
  }
  const timer = setTimeout(() => stream.close(), TIMEOUT_MS);
  const read = (headers: Record<string, unknown>): void => {
    if (status === undefined && headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
  };
  stream.on('response', read);
  stream.on('trailers', read);
  stream.on('error', () => undefined);
  stream.resume();
  stream.on('close', () => {
    clearTimeout(timer);
    count(status === undefined ? 'timeout' : `grpc-${status}`);
    done();
  });
  stream.write(prefix);
  stream.end(payload);
}

const send = transport === 'http' ? sendHttp : sendGrpc;
const started = process.hrtime.bigint();
const intervalMs = 1000 / rate;
let due = 0;
const tick = setInterval(() => {
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  while (due <= elapsedMs) {
    due += intervalMs;
    if (outstanding >= maxOutstanding) {
      skipped += 1;
      continue;
    }
    outstanding += 1;
    sent += 1;
    send(() => (outstanding -= 1));
  }
}, 2);

setTimeout(() => {
  clearInterval(tick);
  const finish = setInterval(() => {
    if (outstanding > 0) return;
    clearInterval(finish);
    const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const s of sessions) s?.close();
    agent.destroy();
    process.stdout.write(`${JSON.stringify({ sent, skipped, answers, elapsedSeconds })}\n`);
  }, 20);
}, seconds * 1000);
