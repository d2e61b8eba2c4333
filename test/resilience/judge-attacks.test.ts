// Issue 9, cases 1 to 4 and 9, against the real CLI in a child process: each hostile input is answered, the
// process stays up, /healthz answers within 1 s throughout (a watchdog polls it), RSS sampled every 50 ms
// stays under 512 MiB, a legitimate sender keeps being served, and the judge keeps judging (its verdict
// document keeps counting new evidence). On the code before this issue: case 1 ended the process (an
// uncaught URIError), case 2 froze the judge for ever and again after a restart, case 3 stalled or aborted
// V8, case 4 froze the process in a regular expression, and case 9's spans were judged silently.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_REQUEST, TRACE_REQUEST, encodeMessage } from '../../bench/payloads.js';
import { startChildSidecar, type ChildSidecar } from '../support/child-sidecar.js';
import { HealthWatchdog } from '../support/health-watchdog.js';
import { LegitClient } from '../support/legit-client.js';
import { rawHttp } from '../support/raw-clients.js';

const PROTO = { 'Content-Type': 'application/x-protobuf' };
const JSON_BODY = { 'Content-Type': 'application/json' };
/** The revision every analysis here judges (a run per analysis). */
const REVISION = 'r1';

const config = {
  // No watermark wait (maxHoldMs 0): each case checks that the judge counts what it was sent, at once.
  judge: { tickIntervalMs: 200, snapshotIntervalMs: 300, watermark: { lagMs: 0, maxHoldMs: 0 } },
  analyses: [
    {
      id: 'latency-metric',
      match: { metric: 'http.server.request.duration' },
      variant: { attribute: 'service.version' },
      baseline: '1',
      canary: '2',
      run: { revision: REVISION },
    },
    {
      id: 'checkout-spans',
      match: { service: 'checkout' },
      variant: { attribute: 'service.version' },
      baseline: '1',
      canary: '2',
      run: { revision: REVISION },
    },
  ],
};

let sidecar: ChildSidecar;
let watchdog: HealthWatchdog;
let legit: LegitClient;

async function startAll(dir?: string): Promise<void> {
  sidecar = await startChildSidecar(config, dir);
  watchdog = new HealthWatchdog(`${sidecar.apiUrl}/healthz`);
  watchdog.start();
  legit = new LegitClient(sidecar).start();
}

/** Stops the legitimate sender and the watchdog and checks everything the issue asks of every case. */
async function expectSurvived(): Promise<void> {
  const report = await legit.stop();
  const health = await watchdog.stop();
  console.log(
    `${expect.getState().currentTestName}: peak RSS ${sidecar.rss.peakMiB.toFixed(0)} MiB, worst /healthz ` +
      `${health.worstMs.toFixed(0)} ms, legitimate exports ${report.served}`,
  );
  expect(sidecar.alive(), sidecar.output().slice(-2000)).toBe(true);
  expect(health.failures).toEqual([]);
  expect(sidecar.rss.peakMiB).toBeLessThan(512);
  expect(report.failures).toEqual([]);
  expect(report.served).toBeGreaterThan(0);
  legit = new LegitClient(sidecar).start();
  watchdog.start();
}

beforeAll(() => startAll());
afterAll(async () => {
  await legit.stop();
  await watchdog.stop();
  expect(await sidecar.stop()).toBe(0);
  sidecar.cleanup();
});

async function document(id: string): Promise<{ samples: { baseline: number; canary: number } }> {
  const response = await fetch(`${sidecar.apiUrl}/api/v1/analyses/${id}/runs/${REVISION}/verdict`);
  expect(response.status).toBe(200);
  return (await response.json()) as { samples: { baseline: number; canary: number } };
}

/** Waits until the judge's document shows at least `minimum` canary requests (the judge is alive). */
async function untilCanarySamples(id: string, minimum: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const { samples } = await document(id);
    if (samples.canary >= minimum) return samples.canary;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the judge never counted ${minimum} canary samples for ${id}`);
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${sidecar.apiUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const NOW_NANOS = BigInt(Date.now()) * 1_000_000n;

/** One delta histogram point per arm of `http.server.request.duration` (seconds). */
function histogramRequest(points: Array<{ version: string; point: Record<string, unknown> }>): Buffer {
  return Buffer.from(
    encodeMessage(METRICS_REQUEST, {
      resourceMetrics: points.map(({ version, point }) => ({
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'service.version', value: { stringValue: version } },
          ],
        },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                ...('scale' in point
                  ? { exponentialHistogram: { aggregationTemporality: 1, dataPoints: [point] } }
                  : { histogram: { aggregationTemporality: 1, dataPoints: [point] } }),
              },
            ],
          },
        ],
      })),
    }),
  );
}

const explicit = (bounds: number[], bucketCounts: number[]) => ({
  startTimeUnixNano: NOW_NANOS - 1_000_000_000n,
  timeUnixNano: NOW_NANOS,
  count: bucketCounts.reduce((a, b) => a + b, 0),
  bucketCounts,
  explicitBounds: bounds,
});

async function postMetrics(body: Buffer): Promise<{ status: number; text: string }> {
  const response = await rawHttp(`${sidecar.httpUrl}/v1/metrics`, { headers: PROTO, body });
  return { status: response.status, text: response.body.toString('latin1') };
}

function spansRequest(spans: Array<Record<string, unknown>>, version = '2'): Buffer {
  return Buffer.from(
    encodeMessage(TRACE_REQUEST, {
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'checkout' } },
              { key: 'service.version', value: { stringValue: version } },
            ],
          },
          scopeSpans: [{ spans }],
        },
      ],
    }),
  );
}

let nextSpanId = 1;
function span(name: string, startNanos: bigint, endNanos: bigint): Record<string, unknown> {
  const spanId = Buffer.alloc(8);
  spanId.writeUInt32BE(nextSpanId++, 4);
  return {
    traceId: Buffer.alloc(16, 7),
    spanId,
    name,
    kind: 2,
    startTimeUnixNano: startNanos,
    endTimeUnixNano: endNanos,
  };
}

describe('the judge and the API under hostile input (issue 9)', () => {
  it('case 1: GET with a malformed percent-escape is a 400, not the end of the process', async () => {
    for (const target of [
      '/api/v1/analyses/%E0%A4%A',
      '/api/v1/analyses/%E0%A4%A/runs/r1/verdict',
      '/api/v1/analyses/latency-metric/runs/%E0%A4%A',
      '/api/v1/analyses/%',
    ]) {
      const response = await fetch(`${sidecar.apiUrl}${target}`, { signal: AbortSignal.timeout(5000) });
      expect(response.status).toBe(400);
    }
    await expectSurvived();
  });

  it('case 2: histogram points with +Inf, 1.8e299 s and 2^31-1 at scale 20 are refused or ignored; the judge keeps judging', async () => {
    const before = await untilCanarySamples('latency-metric', 0);
    const poison = await postMetrics(
      histogramRequest([
        { version: '2', point: explicit([0.1, Infinity], [1, 1, 0]) },
        { version: '2', point: explicit([0.1, 1.8e299], [1, 1, 1]) },
        {
          version: '2',
          point: {
            startTimeUnixNano: NOW_NANOS - 1_000_000_000n,
            timeUnixNano: NOW_NANOS,
            count: 1,
            scale: 20,
            positive: { offset: 2 ** 31 - 1, bucketCounts: [1] },
          },
        },
        { version: '1', point: explicit([0.05, 0.1], [5, 5, 0]) },
      ]),
    );
    expect(poison.status).toBe(200);
    expect(poison.text).toContain('rejected');
    expect(await metric('canary_judge_otlp_items_rejected_total', { reason: 'invalid_histogram' })).toBe(2);
    // The finite but absurd bound passes decoding and is ignored by attribution.
    expect(
      await metric('canary_judge_attribution_points_ignored_total', { reason: 'out_of_range' }),
    ).toBeGreaterThanOrEqual(1);
    // Valid evidence keeps arriving and keeps being judged.
    await postMetrics(histogramRequest([{ version: '2', point: explicit([0.05, 0.1], [3, 4, 0]) }]));
    expect(await untilCanarySamples('latency-metric', before + 7)).toBeGreaterThanOrEqual(before + 7);
    await expectSurvived();
  });

  it('case 3: counts of 1e13 and 1e15 in one bucket are judged in bounded time and memory', async () => {
    const before = await untilCanarySamples('latency-metric', 0);
    const huge = await postMetrics(
      histogramRequest([
        { version: '1', point: explicit([0.05, 0.1], [1e15, 0, 0]) },
        { version: '2', point: explicit([0.05, 0.1], [0, 1e13, 0]) },
      ]),
    );
    expect(huge.status).toBe(200);
    await untilCanarySamples('latency-metric', before + 1e13);
    // The full evidence (order-statistic intervals, Mann-Whitney U, Hodges-Lehmann) on those counts.
    const full = await fetch(`${sidecar.apiUrl}/api/v1/analyses/latency-metric/runs/${REVISION}`, {
      signal: AbortSignal.timeout(5000),
    });
    expect(full.status).toBe(200);
    await expectSurvived();
  });

  it('case 4: a backtracking span-name pattern matches in linear time; an over-long one is refused naming the limit', async () => {
    const analysis = (id: string, spanName: string) =>
      JSON.stringify({
        id,
        match: { service: 'checkout', spanName },
        variant: { attribute: 'service.version' },
        baseline: '1',
        canary: '2',
      });
    const tooLong = await fetch(`${sidecar.apiUrl}/api/v1/analyses`, {
      method: 'POST',
      headers: JSON_BODY,
      body: analysis('too-long', `${'*a'.repeat(450_000)}b`),
    });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain('at most 256 characters (the span-name pattern limit)');
    const created = await fetch(`${sidecar.apiUrl}/api/v1/analyses`, {
      method: 'POST',
      headers: JSON_BODY,
      body: analysis('redos', `${'*a'.repeat(12)}b`),
    });
    expect(created.status).toBe(201);
    const run = await fetch(`${sidecar.apiUrl}/api/v1/analyses/redos/runs/${REVISION}`, {
      method: 'PUT',
      headers: JSON_BODY,
      body: '{}',
    });
    expect(run.status).toBe(201);
    const names = ['a'.repeat(40), 'a'.repeat(100_000), `${'a'.repeat(30)}b`];
    const sent = await rawHttp(`${sidecar.httpUrl}/v1/traces`, {
      headers: PROTO,
      body: spansRequest(names.map((name) => span(name, NOW_NANOS, NOW_NANOS + 5_000_000n))),
    });
    expect(sent.status).toBe(200);
    await untilCanarySamples('redos', 1);
    expect((await document('redos')).samples.canary).toBe(1);
    await expectSurvived();
  });

  it('case 9: spans ending before they start, or with no start, are left out and counted with a reason', async () => {
    const before = await untilCanarySamples('checkout-spans', 0);
    const response = await rawHttp(`${sidecar.httpUrl}/v1/traces`, {
      headers: PROTO,
      body: spansRequest([
        span('GET /ok', NOW_NANOS, NOW_NANOS + 2_000_000n),
        span('GET /backwards', NOW_NANOS, NOW_NANOS - 2_000_000n),
        span('GET /no-start', 0n, NOW_NANOS),
      ]),
    });
    expect(response.status).toBe(200);
    expect(response.body.toString('latin1')).toContain('end_time_unix_nano is before start_time_unix_nano');
    expect(await metric('canary_judge_otlp_items_rejected_total', { reason: 'invalid_span_time' })).toBe(2);
    await untilCanarySamples('checkout-spans', before + 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await document('checkout-spans')).samples.canary).toBe(before + 1);
    await expectSurvived();
  });

  it('case 2, after a restart: a poisoned snapshot is quarantined and the boot completes', async () => {
    await legit.stop();
    await watchdog.stop();
    const dir = sidecar.dir;
    expect(await sidecar.stop()).toBe(0);
    // What the old code stored after a +Inf bound: a bucket at the top of the double range.
    const db = new Database(`${dir}/state.sqlite`);
    const row = db
      .prepare(
        `SELECT s.run_id AS runId, s.state_json AS json FROM run_snapshots s JOIN runs r ON r.id = s.run_id
         WHERE r.analysis_id = ? AND r.state = 'running'`,
      )
      .get('latency-metric') as { runId: string; json: string };
    const poisoned = JSON.parse(row.json) as {
      evidence: { stages: Array<{ canary: { latency: { offset: number; counts: number[] } } }> };
    };
    poisoned.evidence.stages[0].canary.latency.offset = 65_535;
    poisoned.evidence.stages[0].canary.latency.counts = [3];
    const updated = db
      .prepare('UPDATE run_snapshots SET state_json = ? WHERE run_id = ?')
      .run(JSON.stringify(poisoned), row.runId);
    db.close();
    expect(updated.changes).toBe(1);
    await startAll(dir);
    expect(await metric('canary_judge_snapshots_quarantined_total', {})).toBe(1);
    expect(sidecar.output()).toContain('stored snapshot is invalid; quarantined');
    await postMetrics(histogramRequest([{ version: '2', point: explicit([0.05, 0.1], [1, 1, 0]) }]));
    await untilCanarySamples('latency-metric', 2);
    await expectSurvived();
  });
});
