// The event-loop lag that admission sheds on (src/otlp/event-loop-lag.ts): it measures a blocked loop, and its
// timer runs only while someone reads it, so an idle sidecar does not wake 50 times a second for nothing.
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
  it('reads 0 and does not sample until started, then starts sampling at the first reading', () => {
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

  it('stops its timer after two seconds without a reading, and starts again at the next', async () => {
    lag.start();
    void lag.lagMs;
    for (let waited = 0; lag.sampling && waited < 10_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lag.sampling).toBe(false);
    expect(lag.lagMs).toBe(0);
    expect(lag.sampling).toBe(true);
  });
});
