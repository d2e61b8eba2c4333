// Hostile OTLP senders for the attack tests (issue 9), all on loopback. Each runs until stop() and counts
// how the sidecar answered it; none waits for anything the sidecar might never send.
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { GRPC_EXPORT_HEADERS, grpcMessagePrefix } from './raw-clients.js';

export interface AttackTally {
  /** Answers by status (HTTP status or `grpc-<code>`), and `closed` for connections ended without one. */
  answers: Record<string, number>;
}

function tally(t: AttackTally, key: string): void {
  t.answers[key] = (t.answers[key] ?? 0) + 1;
}

export interface Attack {
  tally: AttackTally;
  stop(): Promise<void>;
}

/**
 * `count` uploads that each declare `declaredBytes` and send one byte every `intervalMs`, reopened as soon
 * as the sidecar ends one (a persistent slow-loris on request bodies).
 */
export function slowHttpUploads(
  httpUrl: string,
  count: number,
  declaredBytes = 1_000_000,
  intervalMs = 1000,
): Attack {
  const t: AttackTally = { answers: {} };
  let running = true;
  const open = new Set<ClientRequest>();
  const one = (): void => {
    if (!running) return;
    let answered = false;
    const request = httpRequest(`${httpUrl}/v1/traces`, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': declaredBytes },
    });
    open.add(request);
    const timer = setInterval(() => request.write(Buffer.from([0x0a])), intervalMs);
    request.write(Buffer.from([0x0a]));
    request.on('response', (response) => {
      answered = true;
      tally(t, String(response.statusCode));
      response.resume();
    });
    request.on('error', () => undefined);
    request.on('close', () => {
      clearInterval(timer);
      open.delete(request);
      if (!answered) tally(t, 'closed');
      setImmediate(one);
    });
  };
  for (let i = 0; i < count; i++) one();
  return {
    tally: t,
    async stop() {
      running = false;
      for (const request of open) request.destroy();
    },
  };
}

/**
 * gRPC calls over `connections` HTTP/2 connections that each declare a message of `declaredBytes`, send
 * `sentBytes` of it at once and then one byte every `intervalMs` (sentBytes 0: a pure trickle), reopened
 * as soon as the sidecar ends one.
 */
export function partialGrpcMessages(
  address: string,
  options: {
    connections: number;
    streamsPerConnection: number;
    declaredBytes: number;
    sentBytes: number;
    intervalMs?: number;
  },
): Attack {
  const t: AttackTally = { answers: {} };
  let running = true;
  const sessions: ClientHttp2Session[] = [];
  const body = Buffer.alloc(64 * 1024, 0x0a);
  const openSession = (): ClientHttp2Session => {
    const session = connectHttp2(`http://${address}`, { maxSessionMemory: 1024 });
    session.on('error', () => undefined);
    sessions.push(session);
    return session;
  };
  const one = (session: ClientHttp2Session): void => {
    if (!running) return;
    if (session.closed || session.destroyed) session = openSession();
    let stream;
    try {
      stream = session.request(GRPC_EXPORT_HEADERS);
    } catch {
      setTimeout(() => one(openSession()), 50);
      return;
    }
    let answered = false;
    stream.on('response', (headers) => {
      const status = headers['grpc-status'];
      if (status !== undefined) {
        answered = true;
        tally(t, `grpc-${String(status)}`);
      }
    });
    stream.on('trailers', (trailers) => {
      if (!answered && trailers['grpc-status'] !== undefined) {
        answered = true;
        tally(t, `grpc-${String(trailers['grpc-status'])}`);
      }
    });
    stream.on('error', () => undefined);
    stream.write(grpcMessagePrefix(options.declaredBytes));
    // The first `sentBytes` in 64 KiB pieces as flow control allows, so this process buffers little.
    let left = options.sentBytes;
    const pump = (): void => {
      while (left > 0 && !stream.destroyed) {
        const piece = body.subarray(0, Math.min(left, body.length));
        left -= piece.length;
        if (!stream.write(piece)) {
          stream.once('drain', pump);
          return;
        }
      }
    };
    pump();
    const timer = setInterval(() => {
      if (!stream.destroyed) stream.write(Buffer.from([0x0a]));
    }, options.intervalMs ?? 1000);
    stream.resume();
    stream.on('close', () => {
      clearInterval(timer);
      if (!answered) tally(t, 'closed');
      setTimeout(() => one(session), 10);
    });
  };
  for (let c = 0; c < options.connections; c++) {
    const session = openSession();
    for (let s = 0; s < options.streamsPerConnection; s++) one(session);
  }
  return {
    tally: t,
    async stop() {
      running = false;
      for (const session of sessions) session.destroy();
    },
  };
}

/** `parallel` senders, each posting a small gzip body that inflates to `inflatedBytes`, over and over. */
export function gzipBombs(httpUrl: string, parallel: number, inflatedBytes: number): Attack {
  const t: AttackTally = { answers: {} };
  let running = true;
  const bomb = gzipSync(Buffer.alloc(inflatedBytes, 0x0a), { level: 9 });
  const send = (): void => {
    if (!running) return;
    const request = httpRequest(`${httpUrl}/v1/traces`, {
      method: 'POST',
      agent: false,
      headers: {
        'Content-Type': 'application/x-protobuf',
        'Content-Encoding': 'gzip',
        'Content-Length': bomb.length,
      },
    });
    request.on('response', (response) => {
      tally(t, String(response.statusCode));
      response.resume();
      response.on('end', send);
    });
    request.on('error', () => {
      tally(t, 'closed');
      setImmediate(send);
    });
    request.end(bomb);
  };
  for (let i = 0; i < parallel; i++) send();
  return {
    tally: t,
    async stop() {
      running = false;
    },
  };
}

/**
 * `parallel` gRPC calls over one HTTP/2 connection, each a small gzip-compressed message that inflates to
 * `inflatedBytes`, sent whole and again as soon as it is answered.
 */
export function grpcGzipBombs(address: string, parallel: number, inflatedBytes: number): Attack {
  const t: AttackTally = { answers: {} };
  let running = true;
  const bomb = gzipSync(Buffer.alloc(inflatedBytes, 0x0a), { level: 9 });
  const message = Buffer.concat([grpcMessagePrefix(bomb.length, true), bomb]);
  let session: ClientHttp2Session | undefined;
  const open = (): ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    session = connectHttp2(`http://${address}`);
    session.on('error', () => undefined);
    return session;
  };
  const one = (): void => {
    if (!running) return;
    let stream;
    try {
      stream = open().request({ ...GRPC_EXPORT_HEADERS, 'grpc-encoding': 'gzip' });
    } catch {
      setTimeout(one, 50);
      return;
    }
    let answered = false;
    const answer = (headers: Record<string, unknown>): void => {
      if (answered || headers['grpc-status'] === undefined) return;
      answered = true;
      tally(t, `grpc-${String(headers['grpc-status'])}`);
    };
    stream.on('response', answer);
    stream.on('trailers', answer);
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('close', () => {
      if (!answered) tally(t, 'closed');
      setImmediate(one);
    });
    stream.end(message);
  };
  for (let i = 0; i < parallel; i++) one();
  return {
    tally: t,
    async stop() {
      running = false;
      session?.destroy();
    },
  };
}

/**
 * Overload: `httpConcurrency` + `grpcConcurrency` senders posting `payload` back to back, each waiting at
 * most 10 s for an answer (a timeout is tallied as `timeout`), as exporters under backpressure do. gRPC
 * goes over raw HTTP/2 (prefix + payload) so that this process spends little time framing.
 */
export function overload(
  target: { httpUrl: string; grpcAddress: string },
  payload: Buffer,
  httpConcurrency: number,
  grpcConcurrency: number,
): Attack {
  const t: AttackTally = { answers: {} };
  let running = true;
  const loops: Promise<void>[] = [];
  // One connection for all gRPC senders, reopened if the sidecar closes it, as grpc-js channels do.
  let session = connectHttp2(`http://${target.grpcAddress}`, { maxSessionMemory: 1024 });
  session.on('error', () => undefined);
  const live = (): ClientHttp2Session => {
    if (session.closed || session.destroyed) {
      session = connectHttp2(`http://${target.grpcAddress}`, { maxSessionMemory: 1024 });
      session.on('error', () => undefined);
    }
    return session;
  };
  const prefix = grpcMessagePrefix(payload.length);
  const httpOnce = (): Promise<void> =>
    new Promise((resolve) => {
      const request = httpRequest(`${target.httpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': payload.length },
        timeout: 10_000,
      });
      request.on('response', (response) => {
        tally(t, String(response.statusCode));
        response.resume();
        response.on('end', resolve);
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error) => {
        tally(t, error.message === 'timeout' ? 'timeout' : 'closed');
        resolve();
      });
      request.end(payload);
    });
  const grpcOnce = (): Promise<void> =>
    new Promise((resolve) => {
      let status: string | undefined;
      let stream;
      try {
        stream = live().request(GRPC_EXPORT_HEADERS);
      } catch {
        tally(t, 'closed');
        resolve();
        return;
      }
      const timer = setTimeout(() => stream.close(), 10_000);
      const read = (headers: Record<string, unknown>): void => {
        if (status === undefined && headers['grpc-status'] !== undefined)
          status = String(headers['grpc-status']);
      };
      stream.on('response', read);
      stream.on('trailers', read);
      stream.on('error', () => undefined);
      stream.resume();
      const started = Date.now();
      stream.on('close', () => {
        clearTimeout(timer);
        // Closed without a status: a timeout if it took the full 10 s, else the connection went away.
        tally(
          t,
          status !== undefined ? `grpc-${status}` : Date.now() - started >= 10_000 ? 'timeout' : 'closed',
        );
        resolve();
      });
      stream.write(prefix);
      stream.end(payload);
    });
  const loop = async (once: () => Promise<void>): Promise<void> => {
    while (running) {
      await once();
      // A refused sender backs off briefly, as the exporters do, instead of spinning.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  for (let i = 0; i < httpConcurrency; i++) loops.push(loop(httpOnce));
  for (let i = 0; i < grpcConcurrency; i++) loops.push(loop(grpcOnce));
  return {
    tally: t,
    async stop() {
      running = false;
      await Promise.all(loops);
      session.close();
    },
  };
}
