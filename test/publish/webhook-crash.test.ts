// kill -9 mid-delivery loses nothing: a child process delivering from the outbox is SIGKILLed while the
// receiver holds its requests open; a new outbox on the same SQLite file then delivers every event, in
// order per analysis, with the ids the child printed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { FakeClock, OutboxFixture, removeTempDirs, tempDbPath } from './outbox-fixture.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const secret = 'crash-test-secret';
let receiver: WebhookReceiver | undefined;
let fixture: OutboxFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  await receiver?.close();
  removeTempDirs();
});

it('delivers every event after a SIGKILL mid-delivery and a restart on the same database file', async () => {
  receiver = await WebhookReceiver.start();
  receiver.respond = () => 'hold'; // the child's first requests never get an answer
  const path = tempDbPath();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/publish/fixtures/webhook-crash-child.ts', path, receiver.url, secret],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const ids = JSON.parse(line) as { a: string[]; b: string[] };

  await receiver.received(2); // the head event of each analysis is in flight
  expect(new Set(receiver.ids)).toEqual(new Set([ids.a[0], ids.b[0]]));
  child.kill('SIGKILL');
  const [code, signal] = await exited;
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });

  receiver.respond = () => ({ status: 200 });
  fixture = new OutboxFixture(path, new FakeClock(Date.now()), { clock: Date });
  expect(fixture.rows().map((row) => row.state)).toEqual(Array(6).fill('pending'));
  fixture.outbox.start();
  await receiver.received(8);

  const after = receiver.requests.slice(2);
  for (const analysis of ['a', 'b'] as const) {
    expect(after.filter((r) => r.subject === analysis).map((r) => r.eventId)).toEqual(ids[analysis]);
  }
  // at-least-once: the two in-flight events arrived twice, with the same id and body, validly signed
  for (const request of receiver.requests) {
    const header = request.headers['x-canary-judge-signature'] as string;
    expect(verifyWebhookSignature(secret, request.body, header).ok).toBe(true);
  }
  const first = receiver.requests.slice(0, 2).map((r) => r.body);
  expect(after.filter((r) => first.includes(r.body))).toHaveLength(2);
  await fixture.outbox.flush();
  expect(fixture.rows().every((row) => row.state === 'delivered')).toBe(true);
});
