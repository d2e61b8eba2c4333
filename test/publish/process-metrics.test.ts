// The Node.js process metrics on /metrics: prom-client's default set under canary_judge_process_, whose
// event-loop-lag histogram samples every api.eventLoopLagResolutionMs (a timer that wakes the process; the
// default 10 ms is prom-client's own). The series report the interval between samples, so none is shorter
// than the resolution: a lower bound that holds however busy the machine is.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRegistry, DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS } from '../../src/publish/metrics.js';

function gaugeValue(text: string, family: string): number {
  const match = new RegExp(`^${family} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${family} missing from the exposition`);
  return Number(match[1]);
}

describe('process metrics', () => {
  it('keeps prom-client’s 10 ms event-loop-lag resolution unless api.eventLoopLagResolutionMs says otherwise', () => {
    expect(parseConfig({}).api.eventLoopLagResolutionMs).toBe(DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS);
    expect(DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS).toBe(10);
    expect(parseConfig({ api: { eventLoopLagResolutionMs: 100 } }).api.eventLoopLagResolutionMs).toBe(100);
    expect(() => parseConfig({ api: { eventLoopLagResolutionMs: 0 } })).toThrow(
      /api\.eventLoopLagResolutionMs/,
    );
  });

  it('samples the event loop at the configured resolution', async () => {
    const registry = createRegistry(true, 100);
    await new Promise((resolve) => setTimeout(resolve, 450));
    const text = await registry.metrics();
    const min = gaugeValue(text, 'canary_judge_process_nodejs_eventloop_lag_min_seconds');
    expect(min).toBeGreaterThanOrEqual(0.099);
    // And the histogram did sample: with no sample its minimum reads as prom-client's empty value (~9.2e9 s).
    expect(min).toBeLessThan(0.45);
  });
});
