// The Node.js process metrics on /metrics: prom-client's default set under canary_judge_process_, except the
// event-loop-lag histogram series, which read the sidecar's own sampler (src/otlp/event-loop-lag.ts) instead of
// prom-client's timer that woke the process 100 times a second. Their samples are how late a timer ran: near
// 0 on a free loop, the length of a stall on a blocked one.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS, EventLoopLag } from '../../src/otlp/event-loop-lag.js';
import { createRegistry } from '../../src/publish/metrics.js';

function gaugeValue(text: string, family: string): number {
  const match = new RegExp(`^${family} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${family} missing from the exposition`);
  return Number(match[1]);
}

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a loop held by synchronous work
  }
}

const LAG = 'canary_judge_process_nodejs_eventloop_lag';
const lag = new EventLoopLag();
afterEach(() => lag.stop());

describe('process metrics', () => {
  it('samples every 20 ms while requests arrive unless api.eventLoopLagResolutionMs says otherwise', () => {
    expect(parseConfig({}).api.eventLoopLagResolutionMs).toBe(DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS);
    expect(DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS).toBe(20);
    expect(parseConfig({ api: { eventLoopLagResolutionMs: 100 } }).api.eventLoopLagResolutionMs).toBe(100);
    expect(() => parseConfig({ api: { eventLoopLagResolutionMs: 0 } })).toThrow(
      /api\.eventLoopLagResolutionMs/,
    );
  });

  it('reports how late the sampler ran: near 0 on a free loop, a stall’s length on a held one', async () => {
    const slow = new EventLoopLag(100);
    try {
      const registry = createRegistry(true, slow);
      slow.start();
      void slow.lagMs; // as an admitted request reads it: sample at the fine resolution
      await new Promise((resolve) => setTimeout(resolve, 350));
      // prom-client's histogram recorded the interval between samples (here >= 0.1 s); these, the delay.
      expect(gaugeValue(await registry.metrics(), `${LAG}_min_seconds`)).toBeLessThan(0.05);
      void slow.lagMs;
      await new Promise((resolve) => setTimeout(resolve, 50));
      blockFor(1_100); // over the next sample's due time (on this free loop, at most a second away)
      await new Promise((resolve) => setTimeout(resolve, 0));
      const held = await registry.metrics();
      expect(gaugeValue(held, `${LAG}_max_seconds`)).toBeGreaterThanOrEqual(0.1);
    } finally {
      slow.stop();
    }
  });

  it('has one series of each name, and none from prom-client’s own event-loop histogram', async () => {
    const text = await createRegistry(true, lag).metrics();
    for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'])
      expect(text.match(new RegExp(`^# TYPE ${LAG}_${stat}_seconds gauge$`, 'gm'))).toHaveLength(1);
    // prom-client's scrape-time probe (a setImmediate, no timer) stays.
    expect(text).toMatch(new RegExp(`^# TYPE ${LAG}_seconds gauge$`, 'm'));
    expect(await createRegistry(true).metrics()).not.toContain(`${LAG}_min_seconds`);
  });
});
