// A kill -9 of the whole sidecar while it delivers a verdict webhook, then a restart on the same data
// directory: the event is delivered again with the same id, and nothing is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { sendFailingCanary } from '../support/failing-canary.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'canary-judge-kill-'));
const SECRET = 'kill-test-secret-0123456789';
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the CLI on the shared config and resolves with its bound ports once it logs that it started. */
function startCli(
  configPath: string,
): Promise<{ child: ChildProcess; ports: { http: number; api: number } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configPath], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"ports":\{"api":(\d+),"grpc":\d+,"http":(\d+)\}/.exec(output);
      if (match) resolve({ child, ports: { api: Number(match[1]), http: Number(match[2]) } });
    });
    child.once('exit', (code) => reject(new Error(`sidecar exited with ${code}: ${output}`)));
  });
}

describe('kill -9 during webhook delivery', () => {
  it('redelivers the verdict event with the same id after a restart', async () => {
    const receiver = await WebhookReceiver.start();
    receiver.respond = () => 'hold'; // the first sidecar never sees an answer
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        otlp: { grpc: { port: 0 }, http: { port: 0 } },
        api: { port: 0 },
        storage: { path: join(dir, 'data', 'state.sqlite') },
        // No watermark hold: the spans below are one burst, judged as soon as they arrive.
        judge: { tickIntervalMs: 200, watermark: { maxHoldMs: 0 } },
        webhookDelivery: { allowAddresses: ['127.0.0.1'] },
        analyses: [
          {
            id: 'checkout',
            run: { revision: 'r1' },
            match: { service: 'checkout' },
            variant: { attribute: 'service.version' },
            baseline: '1.0.0',
            canary: '2.0.0',
            judge: { canaryShare: 0.2, minSamplesPerArm: 100 },
            webhook: { url: receiver.url, secret: SECRET },
          },
        ],
      }),
    );
    try {
      const first = await startCli(configPath);
      expect(
        await sendFailingCanary({
          ports: first.ports,
          analysisId: 'checkout',
          revision: 'r1',
          medianMs: 30,
          seeds: [31, 32],
        }),
      ).toBe(true);
      await receiver.received(1); // the delivery is under way, its answer held
      const firstId = receiver.requests[0].eventId;
      const exited = new Promise((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGKILL');
      await exited;

      receiver.respond = () => ({ status: 204 });
      const second = await startCli(configPath);
      await receiver.received(2);
      const redelivered = receiver.requests[1];
      expect(redelivered.eventId).toBe(firstId);
      expect(
        verifyWebhookSignature(
          SECRET,
          redelivered.body,
          String(redelivered.headers['x-canary-judge-signature']),
        ).ok,
      ).toBe(true);
      expect(JSON.parse(redelivered.body)).toMatchObject({
        subject: 'checkout',
        data: { verdict: 'fail', action: 'rollback' },
      });
      const verdict = (await (
        await fetch(`http://127.0.0.1:${second.ports.api}/api/v1/analyses/checkout/runs/r1/verdict`)
      ).json()) as { verdict: string };
      expect(verdict.verdict).toBe('fail');
      const stopped = new Promise((resolve) => second.child.once('exit', resolve));
      second.child.kill('SIGTERM');
      expect(await stopped).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
