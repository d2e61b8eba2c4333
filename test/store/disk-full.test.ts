// Durable under a full disk (issue 12, finding 3): a verdict reached while the disk holding the database
// is full is kept and retried, /readyz says the storage is failing, and once space returns the verdict
// and its webhook event are recorded and delivered without a restart. The disk is a small tmpfs of the
// test's own, so this runs only where a tmpfs can be mounted (root); elsewhere it is skipped with a note.
import { openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { canMount, mountTmpfs, type MountedTmpfs } from '../support/tmpfs.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const SKIP_NOTE = 'needs root to mount a 2 MiB tmpfs as a disk to fill (CI runs as root); skipped';
let mounted: MountedTmpfs | undefined;
let sidecar: Sidecar | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await sidecar?.stop();
  await receiver?.close();
  mounted?.unmount();
  sidecar = receiver = mounted = undefined;
});

/** Writes a file until the file system refuses with ENOSPC; returns its path. */
function fillDisk(folder: string): string {
  const path = join(folder, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // Smaller writes fill the last partial block too.
  try {
    for (;;) writeSync(fd, Buffer.alloc(512, 1));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

async function readyz(api: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a full disk', () => {
  it('keeps a verdict reached while the disk is full, reports it on /readyz, and records and sends it when space returns', async (context) => {
    if (!canMount()) context.skip(SKIP_NOTE);
    mounted = mountTmpfs(2 * 1024 * 1024);
    receiver = await WebhookReceiver.start();
    let nowMs = Date.now();
    const config = parseConfig({
      otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
      api: { port: 0 },
      storage: { path: join(mounted.path, 'state.sqlite') },
      webhookDelivery: { allowAddresses: ['127.0.0.1'] },
      analyses: [
        {
          id: 'checkout',
          match: { service: 'checkout' },
          variant: { attribute: 'service.version' },
          baseline: '1.0.0',
          canary: '1.1.0',
          judge: { maxDurationSeconds: 1 },
          webhook: { url: receiver.url, secret: 'disk-full-test-secret' },
          run: { revision: 'r1' },
        },
      ],
    });
    sidecar = await startSidecar(config, { clock: () => nowMs, logger: createLogger('silent') });
    const api = `http://127.0.0.1:${sidecar.ports.api}`;
    sidecar.judge.tick();
    expect((await readyz(api)).status).toBe(200);

    const filler = fillDisk(mounted.path);
    nowMs += 2_000; // past maxDurationSeconds: the verdict turns inconclusive
    sidecar.judge.tick();
    sidecar.judge.tick(); // retried, still no space
    const failing = await readyz(api);
    expect(failing.status).toBe(503);
    expect(failing.body).toMatchObject({
      status: 'not ready',
      storage: { status: 'failing', code: 'SQLITE_FULL' },
    });
    const { runId } = (await (await fetch(`${api}/api/v1/analyses/checkout/runs/r1`)).json()) as {
      runId: string;
    };
    const history = async () =>
      ((await (await fetch(`${api}/api/v1/runs/${runId}/history`)).json()) as { history: unknown[] }).history;
    expect(await history()).toHaveLength(0);
    expect(receiver.requests).toHaveLength(0);
    // The verdict is already served: a controller polling the run acts on it while the disk is full.
    expect(await (await fetch(`${api}/api/v1/analyses/checkout/runs/r1/verdict`)).json()).toMatchObject({
      verdict: 'inconclusive',
    });

    rmSync(filler);
    sidecar.judge.tick(); // the kept change is recorded with its event
    await receiver.received(1);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({
      subject: 'checkout',
      data: { verdict: 'inconclusive' },
    });
    expect(await history()).toMatchObject([{ verdict: 'inconclusive' }]);
    expect(await readyz(api)).toMatchObject({ status: 200, body: { storage: { status: 'ok' } } });
  });
});
