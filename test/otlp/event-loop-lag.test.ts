// The event-loop lag that admission sheds on and the process metrics report (src/otlp/event-loop-lag.ts): it
// measures a blocked loop, and samples every 20 ms only while someone reads it (admitted requests) and the loop
// is busy, once a second while it is mostly free (each reading checking for a busy loop) or has no reader, so
// a sidecar does not wake 50-100 times a second for nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { EventLoopLag } from '../../src/otlp/event-loop-lag.js';

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a loop busy with synchronous work, as a large decode would be
  }
}

const lag = new EventLoopLag();
afterEach(() => lag.stop());

describe('EventLoopLag', () => {
  it('reads 0 until started, then samples finely from the first reading', () => {
    expect(lag.lagMs).toBe(0);
    expect(lag.sampling).toBe(false);
    lag.start();
    expect(lag.sampling).toBe(false);
    expect(lag.lagMs).toBe(0); // idle until now
    expect(lag.sampling).toBe(true);
  });

  it('shows a loop that has been blocked since its timer was due', () => {
    lag.start();
    void lag.lagMs;
    blockFor(200);
    expect(lag.lagMs).toBeGreaterThanOrEqual(150);
  });

  it('shows a loop blocked while idle at the first reading, then forgets the idle samples', () => {
    lag.start();
    blockFor(1_150); // past the idle sample's due time (1 s)
    expect(lag.lagMs).toBeGreaterThanOrEqual(100);
  });

  it('drops to idle sampling two seconds after the last reading, and samples finely again at the next', async () => {
    lag.start();
    void lag.lagMs;
    for (let waited = 0; lag.sampling && waited < 10_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lag.sampling).toBe(false);
    expect(lag.lagMs).toBeLessThan(50);
    expect(lag.sampling).toBe(true);
  });

  it('keeps sampling once a second while idle, so a stall then still shows', async () => {
    lag.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const idle = lag.takeDelays();
    expect(idle.count).toBeGreaterThanOrEqual(1);
    expect(idle.minMs).toBeLessThan(500); // how late it ran, not the second between samples
    expect(lag.takeDelays().count).toBe(0); // a take starts afresh
    lag.stop();
    lag.start();
    blockFor(1_150); // holds the loop past the next idle sample's due time
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(lag.sampling).toBe(false);
    expect(lag.takeDelays().maxMs).toBeGreaterThanOrEqual(100);
  });

  it('samples once a second while requests find the loop mostly free, every 20 ms while it is busy', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    lag.start();
    void lag.lagMs;
    expect(lag.intervalMs).toBe(20); // the first reading after idle: load unknown
    // Requests keep arriving to a free loop (a sample made late by a busy machine makes the next one 20 ms).
    for (let waited = 0; lag.intervalMs !== 1_000 && waited < 3_000; waited += 50) {
      await sleep(50);
      void lag.lagMs;
    }
    expect(lag.intervalMs).toBe(1_000);
    expect(lag.sampling).toBe(true);
    // Busy: synchronous work with only short turns of the loop in between, as under more load than it takes.
    for (const started = performance.now(); performance.now() - started < 400;) {
      blockFor(15);
      void lag.lagMs;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(lag.intervalMs).toBe(20);
    expect(lag.sampling).toBe(true);
  });

  it('samples every 20 ms from the first reading that finds the loop busy since the previous one', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    lag.start();
    void lag.lagMs;
    for (let waited = 0; lag.intervalMs !== 1_000 && waited < 3_000; waited += 50) {
      await sleep(50);
      void lag.lagMs;
    }
    expect(lag.intervalMs).toBe(1_000);
    await sleep(10);
    void lag.lagMs; // free since the previous reading: stays at a second
    expect(lag.intervalMs).toBe(1_000);
    blockFor(60); // busy since that reading, with the quiet sample not yet due
    expect(lag.lagMs).toBeLessThan(20);
    expect(lag.intervalMs).toBe(20);
  });

  it('with no sample since the last take, reports how long the pending one has been due', () => {
    lag.start();
    void lag.lagMs;
    lag.takeDelays();
    blockFor(100);
    const delays = lag.takeDelays();
    expect(delays.count).toBe(0);
    expect(delays.maxMs).toBeGreaterThanOrEqual(50);
  });
});
