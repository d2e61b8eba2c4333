// The benchmarks' load generator as a child process (bench/load-process.ts, bench/load-generator.ts): stopped
// early with SIGTERM it prints the counts of what it sent to a real HTTP receiver on loopback; one that fails
// while nobody awaits it (a sidecar's warm-up polls meanwhile) is no unhandled rejection (vitest fails a run
// that has one), and stop() then reports its failure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnLoad, type LoadProcess } from '../../bench/load-process.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function started(load: LoadProcess): LoadProcess {
  cleanups.push(() => load.stop().catch(() => undefined));
  return load;
}

describe('spawnLoad', () => {
  it('stops the real generator early on SIGTERM, which answers its requests in flight and prints its counts', async () => {
    let received = 0;
    const server: Server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received += 1;
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-load-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const payload = join(dir, 'payload.bin');
    writeFileSync(payload, Buffer.alloc(64));
    const { port } = server.address() as { port: number };
    const load = started(
      spawnLoad(process.execPath, [
        '--import',
        'tsx',
        'bench/load-generator.ts',
        'http',
        `http://127.0.0.1:${port}`,
        payload,
        '60', // its own deadline, far off
        '2',
      ]),
    );
    while (received < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = performance.now();
    const counts = await load.stop();
    expect(performance.now() - stoppedAt).toBeLessThan(10_000);
    expect(load.exited()).toBe(true);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBeGreaterThanOrEqual(20);
    expect(counts.ok).toBe(received); // each request sent was answered and counted: none cut off
    expect(counts.elapsedSeconds).toBeLessThan(60);
  });

  it('lets a generator fail while nobody awaits it, and stop() reports the failure', async () => {
    const load = started(spawnLoad(process.execPath, ['-e', 'process.exit(3)']));
    while (!load.exited()) await new Promise((resolve) => setTimeout(resolve, 10));
    // Turns of the event loop in which an unawaited rejection would be reported.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(load.stop()).rejects.toThrow('load generator exited (3)');
  });
});
