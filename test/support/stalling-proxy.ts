// A TCP proxy on loopback between a real client and the sidecar. On the connections it is told to stall it
// forwards the request's headers and the first `bodyBytes` of its body, then holds back whatever else the
// client sends (a sender stalled mid-body, as on a congested link), while relaying the server's answer
// whole; other connections pass untouched. It records what the server sent back on each connection.
import { connect, createServer, type Socket } from 'node:net';

export interface StallingProxy {
  /** `http://127.0.0.1:<port>`, to give the client instead of the sidecar's URL. */
  url: string;
  /** What the server sent back on each connection, in the order the client opened them. */
  answers(): string[];
  close(): Promise<void>;
}

const HEADERS_END = Buffer.from('\r\n\r\n');

/**
 * Starts a proxy to `target`; `stall(n)` says, for the n-th connection (from 0), how many body bytes to
 * forward before stalling, or undefined to forward everything.
 */
export async function startStallingProxy(
  target: string,
  stall: (connection: number) => number | undefined,
): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const answers: Buffer[][] = [];
  let connections = 0;
  const server = createServer((client) => {
    const bodyBytes = stall(connections);
    const received: Buffer[] = [];
    answers[connections++] = received;
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    let seen = Buffer.alloc(0);
    let limit = Infinity;
    let forwarded = 0;
    client.on('data', (chunk: Buffer) => {
      if (bodyBytes === undefined) {
        upstream.write(chunk);
        return;
      }
      if (limit === Infinity) {
        seen = Buffer.concat([seen, chunk]);
        const end = seen.indexOf(HEADERS_END);
        if (end >= 0) limit = end + HEADERS_END.length + bodyBytes;
      }
      const room = Math.min(chunk.length, limit - forwarded);
      if (room > 0) {
        upstream.write(chunk.subarray(0, room));
        forwarded += room;
      }
    });
    client.on('end', () => {
      if (bodyBytes === undefined) upstream.end();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => {
      received.push(chunk);
      client.write(chunk);
    });
    upstream.on('close', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    answers: () => answers.map((chunks) => Buffer.concat(chunks).toString('latin1')),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
