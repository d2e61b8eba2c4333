// The example receiver deploy/webhook-receivers/flagd-flag-updater.mjs, run as its own process against a
// temp flagd flag file: a signed fail verdict delivered by the real outbox points the flag at the
// baseline; unsigned, passing or duplicate events leave the file alone; a broken config gets retried.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildVerdictEvent } from '../../src/publish/cloudevents.js';
import { signWebhookBody } from '../../src/publish/webhook-signature.js';
import { FakeClock, OutboxFixture, removeTempDirs, tempDbPath } from './outbox-fixture.js';

const secret = 'flagd-hook-secret';
const flags = {
  $schema: 'https://flagd.dev/schema/v0/flags.json',
  flags: {
    'new-checkout': {
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'on',
      targeting: {
        fractional: [
          ['on', 10],
          ['off', 90],
        ],
      },
    },
    'dark-mode': { state: 'ENABLED', variants: { yes: true, no: false }, defaultVariant: 'yes' },
  },
};

let dir: string;
let flagFile: string;
let updater: ChildProcess | undefined;
let fixture: OutboxFixture | undefined;

async function startUpdater(env: Record<string, string> = {}): Promise<string> {
  updater = spawn(process.execPath, ['deploy/webhook-receivers/flagd-flag-updater.mjs'], {
    env: {
      ...process.env,
      WEBHOOK_SECRET: secret,
      FLAGD_FLAG_FILE: flagFile,
      FLAG_KEY: 'new-checkout',
      BASELINE_VARIANT: 'off',
      ANALYSIS_ID: 'checkout',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: updater.stdout! }), 'line')) as [string];
  return (JSON.parse(line) as { url: string }).url;
}

function signedEvent(data: Record<string, unknown>, id = 'evt-1', subject = 'checkout') {
  const body = JSON.stringify(
    buildVerdictEvent({ analysisId: subject, data, source: '/t', time: new Date(), id }),
  );
  return { body, signature: signWebhookBody(secret, body, Math.floor(Date.now() / 1000)) };
}

async function post(url: string, body: string, signature: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', 'x-canary-judge-signature': signature },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const readFlags = () => JSON.parse(readFileSync(flagFile, 'utf8')) as typeof flags;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-flagd-'));
  flagFile = join(dir, 'flags.json');
  writeFileSync(flagFile, JSON.stringify(flags, null, 2));
});
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  if (updater && updater.exitCode === null) {
    const exited = once(updater, 'exit');
    updater.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
  removeTempDirs();
});

describe('flagd flag-file updater', () => {
  it('rolls the flag back to the baseline when the outbox delivers a fail verdict, once per event id', async () => {
    const url = await startUpdater();
    fixture = new OutboxFixture(tempDbPath(), new FakeClock(), { clock: Date });
    const id = fixture.outbox.enqueue({
      analysisId: 'checkout',
      url,
      secret,
      data: { verdict: 'fail', action: 'rollback', reason: 'p95 latency +38% (tolerance 10%)' },
    })!;
    await fixture.outbox.flush();
    expect(fixture.rows()[0]).toMatchObject({ state: 'delivered', attempts: 1 });

    const after = readFlags();
    expect(after.flags['new-checkout']).toEqual({
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'off',
    });
    expect(after.flags['dark-mode']).toEqual(flags.flags['dark-mode']);
    expect(after.$schema).toBe(flags.$schema);

    // a redelivery of the same event (at-least-once) is acknowledged without touching the file again
    writeFileSync(flagFile, JSON.stringify(flags));
    const body = fixture.rows()[0].body;
    const again = await post(url, body, signWebhookBody(secret, body, Math.floor(Date.now() / 1000)));
    expect(again).toEqual({ status: 200, json: { applied: 'none', why: 'duplicate', id } });
    expect(readFlags()).toEqual(flags);
  });

  it('refuses a bad signature, a tampered body and a stale timestamp with 401 and leaves the file alone', async () => {
    const url = await startUpdater();
    const { body, signature } = signedEvent({ verdict: 'fail', action: 'rollback' });
    const stale = signWebhookBody(secret, body, Math.floor(Date.now() / 1000) - 600);
    expect(
      (await post(url, body, signWebhookBody('wrong', body, Math.floor(Date.now() / 1000)))).status,
    ).toBe(401);
    expect((await post(url, body.replace('fail', 'pass'), signature)).status).toBe(401);
    expect((await post(url, body, stale)).json).toEqual({ error: 'stale signature timestamp' });
    expect((await post(url, body, '')).status).toBe(401);
    expect(readFlags()).toEqual(flags);
  });

  it('leaves the flag alone for running and pass verdicts and for other analyses', async () => {
    const url = await startUpdater();
    const pass = signedEvent({ verdict: 'pass', action: 'promote' }, 'evt-pass');
    expect(await post(url, pass.body, pass.signature)).toEqual({
      status: 200,
      json: { applied: 'none', verdict: 'pass' },
    });
    const other = signedEvent({ verdict: 'fail', action: 'rollback' }, 'evt-other', 'payments');
    expect((await post(url, other.body, other.signature)).json).toMatchObject({ why: 'other analysis' });
    expect(readFlags()).toEqual(flags);
  });

  it('answers 500 when the baseline variant does not exist, so the outbox keeps the event and retries', async () => {
    const url = await startUpdater({ BASELINE_VARIANT: 'legacy' });
    fixture = new OutboxFixture(tempDbPath(), new FakeClock(), { clock: Date, baseDelayMs: 60_000 });
    fixture.outbox.enqueue({
      analysisId: 'checkout',
      url,
      secret,
      data: { verdict: 'fail', action: 'rollback' },
    });
    await fixture.outbox.flush();
    expect(fixture.rows()[0]).toMatchObject({ state: 'pending', attempts: 1 });
    // The receiver's reply body is never stored or logged by the sender: only the status.
    expect(fixture.rows()[0].last_error).toBe('HTTP 500 Internal Server Error');
    expect(readFlags()).toEqual(flags);
  });
});
