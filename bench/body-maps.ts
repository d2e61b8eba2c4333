// Diagnosis (`node dist/bench/body-maps.js`, not part of `npm run bench`): what the decode walk costs when
// OTLP/HTTP bodies of two kinds follow each other, as they do beside a real exporter. A body that fits one
// socket read reaches the receiver as the Buffer Node's HTTP parser made in C++; a longer one is joined
// from chunks into a JS-made Buffer; the two have different hidden classes (maps). The walk is first
// decoded 300 times over a joined 512-span body (TurboFan compiles it), then 60 times each over a 64-span
// one-chunk body and the joined one, alternating. Run it with `--trace-deopt` to see the walk deoptimized
// ("wrong map") when the walk reads the buffers as they come; src/otlp/decode/wire.ts (plainBytes) reads
// every payload through a plain Uint8Array view, so it sees one map. Compare two builds by running this in
// each checkout, alternated, in fresh processes.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraceRequest } from '../src/otlp/decode/index.js';
import { buildTraceRequestPayload } from './payloads.js';

/** The chunks a Node HTTP server hands over for `payload` sent over loopback. */
function received(payload: Uint8Array): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const server = createServer((incoming, response) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        response.end();
        server.close();
        resolve(chunks);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const sent = request({ port, host: '127.0.0.1', method: 'POST' }, (answer) => answer.resume());
      sent.end(payload);
    });
  });
}

const joinedChunks = await received(buildTraceRequestPayload({ spans: 512 }));
const oneChunk = await received(buildTraceRequestPayload({ spans: 64 }));
if (joinedChunks.length < 2 || oneChunk.length !== 1)
  throw new Error(
    `expected a multi-chunk and a one-chunk body, got ${joinedChunks.length} and ${oneChunk.length}`,
  );
const joined = Buffer.concat(joinedChunks);
let spans = 0;
let started = performance.now();
for (let i = 0; i < 300; i++) spans += decodeTraceRequest(joined).spans.length;
const firstMs = performance.now() - started;
started = performance.now();
for (let i = 0; i < 60; i++) {
  spans += decodeTraceRequest(oneChunk[0]).spans.length;
  spans += decodeTraceRequest(joined).spans.length;
}
const mixedMs = performance.now() - started;
process.stdout.write(
  `300 joined bodies: ${firstMs.toFixed(1)} ms; then 60 one-chunk + 60 joined, alternating: ${mixedMs.toFixed(1)} ms (${spans} spans)\n`,
);
