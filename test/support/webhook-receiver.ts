// A real HTTP webhook receiver for the tests (node:http on 127.0.0.1, port 0): records every request and
// answers through a programmable responder; `received(n)` resolves once n requests have arrived.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: string;
  eventId: string;
  subject: string;
  index: number;
}

export type Reply =
  { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hold';
export type Responder = (request: ReceivedRequest) => Reply;

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  respond: Responder = () => ({ status: 204 });
  private readonly server: Server;
  private readonly held: ServerResponse[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  port = 0;
  /** Requests being answered right now, and the most at once (for the concurrency cap). */
  open = 0;
  maxOpen = 0;

  private constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** `host`: a loopback address (127.0.0.0/8); another one than 127.0.0.1 stands for a second machine. */
  static async start(port = 0, host = '127.0.0.1'): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.host = host;
    await receiver.listen(port);
    return receiver;
  }

  host = '127.0.0.1';

  get url(): string {
    return `http://${this.host}:${this.port}/hooks/canary`;
  }

  /** Event ids in arrival order. */
  get ids(): string[] {
    return this.requests.map((request) => request.eventId);
  }

  received(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections (so the port refuses) and drops held and idle ones. */
  async close(): Promise<void> {
    for (const response of this.held.splice(0)) response.destroy();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let eventId = '';
      let subject = '';
      try {
        const parsed = JSON.parse(body) as { id?: string; subject?: string };
        eventId = parsed.id ?? '';
        subject = parsed.subject ?? '';
      } catch {
        // recorded with empty ids; the test asserts on them
      }
      const request = { headers: req.headers, body, eventId, subject, index: this.requests.length };
      this.requests.push(request);
      const reply = this.respond(request);
      this.open += 1;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      res.on('close', () => (this.open -= 1));
      if (reply === 'hold') this.held.push(res);
      else {
        const answer = (): void => {
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body ?? '');
        };
        if (reply.delayMs) setTimeout(answer, reply.delayMs);
        else answer();
      }
      this.waiters = this.waiters.filter((waiter) => {
        if (this.requests.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
  }
}
