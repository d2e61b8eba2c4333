// A hostile API caller (issue 12, findings 1 and 2): a webhook URL set through the API cannot make the
// sidecar POST to loopback, the cloud metadata address or a private network, and the webhook secret is
// write-only: no response (create, read, list, verdict, history, stop, a validation error, a JSON syntax
// error) ever contains it. The database file that stores it is readable by its owner only.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { metricValue } from '../support/sidecar.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const SECRET = 'Sup3r-S3cret-webhook-key-7f3a91';
let dir: string;
let sidecar: Sidecar;
let api: string;
let admin: WebhookReceiver;
let nowMs = Date.now();
const logs: string[] = [];
const json = { 'Content-Type': 'application/json' };

function analysis(id: string, url: string, secret = SECRET) {
  return {
    id,
    match: { service: id },
    variant: { attribute: 'service.version' },
    baseline: '1.0.0',
    canary: '1.1.0',
    judge: { maxDurationSeconds: 1 },
    webhook: { url, secret },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-safety-'));
  // Stands for an internal admin endpoint on the sidecar's machine: nothing may reach it.
  admin = await WebhookReceiver.start();
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0 },
    storage: { path: join(dir, 'state.sqlite') },
    judge: { tickIntervalMs: 60_000 },
  });
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
  sidecar = await startSidecar(config, { clock: () => nowMs, logger });
  api = `http://127.0.0.1:${sidecar.ports.api}`;
});
afterAll(async () => {
  await sidecar.stop();
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webhook URLs from the API', () => {
  it('never reach loopback, metadata or private addresses; the refusal is counted and logged without any reply', async () => {
    const targets = {
      loopback: `http://127.0.0.1:${admin.port}/admin/delete-everything`,
      localhost: `http://localhost:${admin.port}/admin/delete-everything`,
      metadata: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      private: 'http://user:pass@10.0.0.7:8080/internal',
    };
    for (const [id, url] of Object.entries(targets)) {
      const created = await fetch(`${api}/api/v1/analyses`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify(analysis(id, url)),
      });
      expect(created.status).toBe(201);
      const started = await fetch(`${api}/api/v1/analyses/${id}/runs/r1`, { method: 'PUT' });
      expect(started.status).toBe(201);
    }
    sidecar.judge.tick();
    nowMs += 2_000; // past maxDurationSeconds: every run turns inconclusive and enqueues its event
    sidecar.judge.tick();
    const deadline = Date.now() + 10_000;
    while ((await metricValue(api, 'canary_judge_webhook_deliveries_total', { outcome: 'refused' })) < 4) {
      if (Date.now() > deadline) throw new Error('the four events were not refused in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(admin.requests).toHaveLength(0);
    const refusals = logs
      .map((line) => JSON.parse(line) as { msg: string; reason?: string; url?: string })
      .filter((line) => line.msg === 'webhook delivery failed; giving up on this event');
    expect(refusals.map((line) => line.reason).sort()).toEqual([
      '10.0.0.7 is a private address; webhooks may reach it only if webhookDelivery.allowAddresses (CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES) names it',
      '127.0.0.1 is a loopback address; webhooks may reach it only if webhookDelivery.allowAddresses (CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES) names it',
      '169.254.169.254 is a link-local (cloud metadata) address; webhooks may reach it only if webhookDelivery.allowAddresses (CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES) names it',
      expect.stringMatching(
        /^localhost resolves to (127\.0\.0\.1|::1), a loopback address; webhooks may reach/,
      ),
    ]);
    expect(logs.join('\n')).not.toContain('user:pass');
  });
});

describe('the webhook secret is write-only', () => {
  it('appears in no response of any analysis route, nor in a validation or JSON error', async () => {
    const texts: string[] = [];
    const call = async (method: string, path: string, body?: string): Promise<Response> => {
      const response = await fetch(`${api}${path}`, { method, headers: json, body });
      texts.push(await response.clone().text());
      return response;
    };
    const url = 'https://hooks.example.test/canary';
    const created = await call('POST', '/api/v1/analyses', JSON.stringify(analysis('secretive', url)));
    expect(created.status).toBe(201);
    const document = (await created.json()) as { spec: { webhook: unknown } };
    expect(document.spec.webhook).toEqual({ url, secretSet: true });
    expect((await call('GET', '/api/v1/analyses/secretive')).status).toBe(200);
    expect((await call('GET', '/api/v1/analyses')).status).toBe(200);
    const started = await call('PUT', '/api/v1/analyses/secretive/runs/r1');
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };
    expect((await call('GET', '/api/v1/analyses/secretive/runs/r1')).status).toBe(200);
    expect((await call('GET', '/api/v1/analyses/secretive/runs/r1/verdict')).status).toBe(200);
    expect((await call('GET', '/api/v1/analyses/secretive/runs')).status).toBe(200);
    expect((await call('GET', `/api/v1/runs/${runId}`)).status).toBe(200);
    expect((await call('GET', `/api/v1/runs/${runId}/history`)).status).toBe(200);
    const replaced = await call(
      'PUT',
      '/api/v1/analyses/secretive',
      JSON.stringify(analysis('secretive', url)),
    );
    expect(replaced.status).toBe(200);
    // A secret too short: the error says what is wrong without repeating it.
    const short = 'tooShortSecret';
    const refused = await call('POST', '/api/v1/analyses', JSON.stringify(analysis('short', url, short)));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { problems: string[] }).problems).toEqual([
      'webhook.secret: expected a secret of at least 16 characters, found a value of 14 characters (not shown)',
    ]);
    // Broken JSON right after the secret: the syntax error gives a position, not the text around it.
    const broken = `{"id":"x","webhook":{"url":"${url}","secret":"${SECRET}" oops}}`;
    const syntax = await call('POST', '/api/v1/analyses', broken);
    expect(syntax.status).toBe(400);
    expect(((await syntax.json()) as { message: string }).message).toMatch(
      /^body is not valid JSON: unexpected character at line 1, column \d+$/,
    );
    expect((await call('DELETE', '/api/v1/analyses/secretive')).status).toBe(200);
    for (const text of texts) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(short);
    }
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  it('is stored in a database file only its owner can read', () => {
    expect(statSync(join(dir, 'state.sqlite')).mode & 0o777).toBe(0o600);
  });
});
