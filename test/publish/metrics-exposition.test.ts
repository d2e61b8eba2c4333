// /metrics rendered in slices (src/publish/metrics-exposition.ts) is registry.metrics()'s text byte for byte:
// the process metrics, counters and histograms through prom-client, the gauges (formatted here) over more
// than one chunk of series, with label values that need escaping and non-finite values.
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/publish/metrics.js';
import { renderMetrics } from '../../src/publish/metrics-exposition.js';

describe('renderMetrics', () => {
  it('renders what registry.metrics() renders, yielding the event loop while it does', async () => {
    const registry = createRegistry();
    const wide = new Gauge({
      name: 'test_wide_gauge',
      help: 'A gauge with many series; help with a \\ backslash and a\nnewline',
      labelNames: ['analysis', 'arm'],
      registers: [registry],
    });
    for (let i = 0; i < 4500; i++)
      wide.set({ analysis: `analysis-${i}`, arm: i % 2 ? 'canary' : 'baseline' }, i / 7);
    const odd = new Gauge({
      name: 'test_odd_values',
      help: 'Odd values',
      labelNames: ['label'],
      registers: [registry],
    });
    odd.set({ label: 'quote " backslash \\ newline \n end' }, NaN);
    odd.set({ label: 'plus' }, Infinity);
    odd.set({ label: 'minus' }, -Infinity);
    odd.set({ label: 'small' }, 1e-12);
    new Gauge({ name: 'test_unlabelled', help: 'No labels', registers: [registry] }).set(3);
    new Gauge({ name: 'test_empty', help: 'Never set', labelNames: ['x'], registers: [registry] });
    new Counter({
      name: 'test_events_total',
      help: 'Events',
      labelNames: ['kind'],
      registers: [registry],
    }).inc({ kind: 'a' }, 2);
    const histogram = new Histogram({
      name: 'test_seconds',
      help: 'Durations',
      labelNames: ['work'],
      buckets: [0.001, 0.01],
      registers: [registry],
    });
    histogram.observe({ work: 'tick' }, 0.005);
    histogram.observe({ work: 'snapshot' }, 0.5);

    let turns = 0;
    const counting = setInterval(() => (turns += 1), 0);
    const sliced = await renderMetrics(registry);
    clearInterval(counting);
    const whole = await registry.metrics();
    // Process metrics (CPU, memory, event-loop lag) move between two renders: compare the rest exactly.
    const stable = (text: string) =>
      text
        .split('\n\n')
        .filter((block) => !block.includes('canary_judge_process_'))
        .join('\n\n');
    expect(stable(sliced)).toBe(stable(whole));
    expect(sliced.split('\n\n').map((block) => block.split('\n')[0])).toEqual(
      whole.split('\n\n').map((block) => block.split('\n')[0]),
    );
    expect(sliced.endsWith('\n')).toBe(true);
    expect(sliced).toContain('test_odd_values{label="quote \\" backslash \\\\ newline \\n end"} Nan');
    expect(turns).toBeGreaterThan(0); // timers ran while it rendered
  });

  it("renders only the named families, as in the whole text, without running the others' collect()", async () => {
    const registry = createRegistry();
    let collected = 0;
    new Gauge({
      name: 'test_collected',
      help: 'Set when read',
      registers: [registry],
      collect() {
        collected += 1;
        this.set(collected);
      },
    });
    const histogram = new Histogram({
      name: 'test_seconds',
      help: 'Durations',
      buckets: [0.001, 0.01],
      registers: [registry],
    });
    histogram.observe(0.005);
    new Counter({ name: 'test_events_total', help: 'Events', registers: [registry] }).inc();
    const named = await renderMetrics(registry, new Set(['test_events_total', 'test_seconds']));
    expect(collected).toBe(0);
    const whole = await renderMetrics(registry);
    expect(collected).toBe(1);
    const blocks = whole.trimEnd().split('\n\n');
    expect(named).toBe(
      `${blocks.filter((block) => /^# HELP test_(seconds|events_total) /.test(block)).join('\n\n')}\n`,
    );
  });
  // prometheus/client_python d0b497ffe069865537e55af52cb00c329d58a6f0, tests/test_core.py
  // test_restricted_registry: with c_total and a summary s observed 7, restricted_registry(['s_sum']) yields s's
  // family with the sample s_sum alone (metrics_core.py _restricted_metric); a name that names no sample, nothing.
  it("renders a sample name's family with those samples alone, as client_python's restricted registry", async () => {
    const registry = createRegistry();
    new Counter({ name: 'c_total', help: 'help', registers: [registry] });
    new Summary({ name: 's', help: 'help', registers: [registry] }).observe(7);
    expect(await renderMetrics(registry, new Set(['s_sum']))).toBe(
      '# HELP s help\n# TYPE s summary\ns_sum 7\n',
    );
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'Durations',
      labelNames: ['work'],
      buckets: [0.01],
      registers: [registry],
    });
    histogram.observe({ work: 'tick' }, 0.005);
    histogram.observe({ work: 'snapshot' }, 0.5);
    expect(await renderMetrics(registry, new Set(['h_seconds_count', 'h_seconds_sum', 'c_total']))).toBe(
      [
        '# HELP c_total help\n# TYPE c_total counter\nc_total 0\n',
        '# HELP h_seconds Durations\n# TYPE h_seconds histogram',
        'h_seconds_sum{work="tick"} 0.005\nh_seconds_count{work="tick"} 1',
        'h_seconds_sum{work="snapshot"} 0.5\nh_seconds_count{work="snapshot"} 1\n',
      ].join('\n'),
    );
    // No sample of that name, or a family's sample name that it does not have: nothing.
    expect(await renderMetrics(registry, new Set(['c_total_count', 'h_seconds_total', 's_bucket']))).toBe(
      '\n',
    );
  });
});
