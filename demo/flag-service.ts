// The demo's flag service: it owns the rollout percentage of `new-checkout-flow` (what flagd, LaunchDarkly
// or Unleash would own in production) and is the canary-judge webhook receiver that acts on verdicts.
// A `fail` verdict (action rollback) sets the flag to 0% and locks it, so the rollout cannot ramp it back
// up; a `pass` verdict (action promote) of the rollout's final stage sets it to 100% (a pass of an earlier
// stage only lets the rollout go on to the next). Every delivery's signature is verified over the raw body
// before anything is parsed, exactly as a production receiver must.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../src/publish/webhook-signature.js';

export const FLAG_KEY = 'new-checkout-flow';
const MAX_BODY_BYTES = 1024 * 1024;

/** One webhook delivery as received, kept so the demo (and its tests) can show and re-check it. */
export interface ReceivedWebhook {
  atMs: number;
  rawBody: string;
  signatureHeader: string | undefined;
  verified: boolean;
  verdict?: string;
  action?: string;
  applied: 'rollback' | 'promote' | 'none' | 'rejected';
}

export interface FlagChange {
  atMs: number;
  percent: number;
  by: 'rollout' | 'rollback' | 'promote';
  /** A rollback or promote: the verdict document the signed webhook carried, which decided it. */
  verdict?: VerdictDocument;
}

export class FlagService {
  /** Share of users (0-100) that get the `on` variant. */
  private percent = 0;
  private locked = false;
  /**
   * Set by a verified promote: the rollout's stage timer may still fire a ramp (a PUT of 50%) a moment
   * after the promote arrives, and must not undo canary-judge's decision.
   */
  private promoted = false;
  readonly webhooks: ReceivedWebhook[] = [];
  readonly changes: FlagChange[] = [];
  private server: Server | undefined;
  private listeners: Array<(change: FlagChange) => void> = [];

  constructor(
    private readonly secret: string,
    /** The rollout's last stage, in percent: a pass at this share promotes the flag. */
    private readonly finalPercent = 100,
  ) {}

  get rolloutPercent(): number {
    return this.percent;
  }

  /** True once a verdict rolled the flag back: rollout stages are refused from then on. */
  get rolledBack(): boolean {
    return this.locked;
  }

  onChange(listener: (change: FlagChange) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private set(percent: number, by: FlagChange['by'], verdict?: VerdictDocument): void {
    this.percent = percent;
    const change: FlagChange = { atMs: Date.now(), percent, by, ...(verdict && { verdict }) };
    this.changes.push(change);
    for (const listener of this.listeners) listener(change);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === `/flags/${FLAG_KEY}` && request.method === 'GET') {
      return reply(200, { flag: FLAG_KEY, percent: this.percent, rolledBack: this.locked });
    }
    if (path === `/flags/${FLAG_KEY}` && request.method === 'PUT') {
      const body = JSON.parse((await readBody(request)).toString('utf8')) as { percent?: unknown };
      const percent = body.percent;
      if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
        return reply(400, { error: 'percent must be a number in [0, 100]' });
      }
      if (this.locked) return reply(409, { error: 'flag was rolled back by canary-judge; not ramping' });
      if (this.promoted) return reply(409, { error: 'flag was promoted by canary-judge; not ramping' });
      this.set(percent, 'rollout');
      return reply(200, { flag: FLAG_KEY, percent });
    }
    if (path === '/webhooks/canary-judge' && request.method === 'POST') {
      return this.receiveVerdict(request, reply);
    }
    reply(404, { error: 'not found' });
  }

  private async receiveVerdict(
    request: IncomingMessage,
    reply: (status: number, body: object) => void,
  ): Promise<void> {
    const rawBody = await readBody(request);
    const header = request.headers[SIGNATURE_HEADER.toLowerCase()];
    const signatureHeader = Array.isArray(header) ? header[0] : header;
    const check = verifyWebhookSignature(this.secret, rawBody, signatureHeader);
    const received: ReceivedWebhook = {
      atMs: Date.now(),
      rawBody: rawBody.toString('utf8'),
      signatureHeader,
      verified: check.ok,
      applied: 'rejected',
    };
    this.webhooks.push(received);
    // 401 tells canary-judge that retrying cannot help; nothing unsigned ever touches the flag.
    if (!check.ok) return reply(401, { error: `signature ${check.reason}` });
    // The event's data is the judge's verdict document (src/publish/cloudevents.ts).
    const event = JSON.parse(received.rawBody) as { data?: Partial<VerdictDocument> };
    received.verdict = event.data?.verdict;
    received.action = event.data?.action;
    received.applied = 'none';
    const stages = event.data?.stages ?? [];
    const judgedShare = stages[stages.length - 1]?.canaryShare;
    const finalStage =
      judgedShare !== undefined && judgedShare !== null && Math.round(judgedShare * 100) >= this.finalPercent;
    if (received.verdict === 'fail' || received.action === 'rollback') {
      this.locked = true;
      this.set(0, 'rollback', event.data as VerdictDocument);
      received.applied = 'rollback';
    } else if (received.verdict === 'pass' && received.action === 'promote' && finalStage && !this.locked) {
      this.promoted = true;
      this.set(100, 'promote', event.data as VerdictDocument);
      received.applied = 'promote';
    }
    reply(200, { applied: received.applied, percent: this.percent });
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
