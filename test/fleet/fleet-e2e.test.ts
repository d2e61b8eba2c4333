// Acceptance of fleet mode, end to end on loopback: four forwarding instances and one judging instance, fed by
// the real OTel SDK's OTLP/gRPC trace exporters through a split by trace id, and beside them a single instance
// fed the same spans. The forwarders learn the run and its stages from the judge's API and send their state as
// OTLP metrics with the SDK's metric exporter. After every tick the judge's verdict, its per-stage counts, arm
// summaries (quantiles, error rates), metric results and traffic split equal the single instance's, through a
// stage change, up to the fail verdict of a regressed canary.
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { windowSpans } from '../support/clocked-spans.js';
import {
  api,
  FLEET_ANALYSIS,
  grpcTraceExporter,
  startInstance,
  TraceIdSplitExporter,
  type FleetInstance,
} from '../support/fleet.js';
import { exportOnce } from '../support/telemetry.js';

const T0_MS = Date.parse('2026-12-01T10:00:00Z');
const TICK_MS = 5_000;
const STAGE_2_ROUND = 3;
const MAX_ROUNDS = STAGE_2_ROUND + MIN_ERROR_BLOCKS + 8;

let nowMs = T0_MS;
const clock = () => nowMs;
let judge: FleetInstance;
let single: FleetInstance;
const forwarders: FleetInstance[] = [];
let toSingle: SpanExporter;
let toFleet: SpanExporter;
const rounds: Array<{ fleet: VerdictDocument; single: VerdictDocument }> = [];

async function declare(canaryShare: number): Promise<void> {
  for (const instance of [judge, single]) {
    const response = await api(instance, `/api/v1/analyses/checkout/runs/r1`, {
      method: 'PUT',
      body: JSON.stringify({ canaryShare }),
    });
    expect(response.status).toBeLessThan(300);
  }
  await Promise.all(forwarders.map((forwarder) => forwarder.sidecar.fleet!.sync()));
}

async function document(instance: FleetInstance): Promise<VerdictDocument> {
  return (await (await api(instance, '/api/v1/analyses/checkout/runs/r1')).json()) as VerdictDocument;
}

/** What must match between the two: everything the statistics produced, not the ids or exemplars. */
function judged(doc: VerdictDocument) {
  return {
    verdict: doc.verdict,
    action: doc.action,
    reason: doc.reason,
    evidenceUntil: doc.evidenceUntil,
    samples: doc.samples,
    stages: doc.stages,
    arms: doc.arms,
    metrics: doc.metrics,
    trafficSplit: doc.trafficSplit,
  };
}

beforeAll(async () => {
  judge = await startInstance({ clock, analyses: [FLEET_ANALYSIS] });
  single = await startInstance({ clock, analyses: [FLEET_ANALYSIS] });
  for (let i = 0; i < 4; i += 1)
    forwarders.push(await startInstance({ clock, forwardTo: judge, instanceId: `forwarder-${i}` }));
  toSingle = grpcTraceExporter(single.grpcUrl);
  toFleet = new TraceIdSplitExporter(forwarders.map((forwarder) => grpcTraceExporter(forwarder.grpcUrl)));
  await declare(0.2);
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    if (round === STAGE_2_ROUND) await declare(0.5);
    const share = round < STAGE_2_ROUND ? 0.2 : 0.5;
    const startMs = nowMs;
    nowMs += TICK_MS;
    const window = { startMs, windowMs: TICK_MS - 1_000, medianMs: 30 };
    const spans: ReadableSpan[] = [
      ...windowSpans({
        ...window,
        version: '1.0.0',
        count: Math.round(600 * (1 - share)),
        errorRate: 0.01,
        seed: 2 * round + 1,
      }),
      ...windowSpans({
        ...window,
        version: '2.0.0',
        count: Math.round(600 * share),
        errorRate: 0.08,
        medianMs: 36,
        seed: 2 * round + 2,
      }),
    ];
    expect((await exportOnce(toSingle, spans)).error?.message ?? 'exported').toBe('exported');
    expect((await exportOnce(toFleet, spans)).error?.message ?? 'exported').toBe('exported');
    const exported = await Promise.all(forwarders.map((forwarder) => forwarder.sidecar.fleet!.exportNow()));
    expect(exported).toEqual([true, true, true, true]);
    judge.sidecar.judge.tick();
    single.sidecar.judge.tick();
    rounds.push({ fleet: await document(judge), single: await document(single) });
    if (rounds.at(-1)!.single.verdict !== 'running') break;
  }
});

afterAll(async () => {
  await toSingle?.shutdown();
  await toFleet?.shutdown();
  await Promise.all([...forwarders, judge, single].filter(Boolean).map((instance) => instance.stop()));
});

describe('four forwarders and a judge, against one instance fed the same traffic', () => {
  it('reaches the same fail verdict at the same tick', () => {
    const last = rounds.at(-1)!;
    expect(last.single.verdict).toBe('fail');
    expect(last.fleet.verdict).toBe('fail');
    expect(rounds.map((r) => r.fleet.verdict)).toEqual(rounds.map((r) => r.single.verdict));
  });

  it('has, after every tick, the same counts per stage, quantiles, error rates, metric results and split', () => {
    expect(rounds.length).toBeGreaterThan(MIN_ERROR_BLOCKS);
    for (const { fleet, single: one } of rounds) expect(judged(fleet)).toEqual(judged(one));
    const last = rounds.at(-1)!.fleet;
    expect(last.stages.map((stage) => stage.canaryShare)).toEqual([0.2, 0.5]);
    expect(last.stages[1].samples.canary).toBeGreaterThan(0);
    expect(last.arms?.canary.quantiles.length).toBeGreaterThan(0);
  });

  it('took its evidence from all four forwarders, through their OTLP metric exports', async () => {
    const evidence = judge.sidecar.accumulator.evidence(rounds.at(-1)!.fleet.runId);
    // The run has ended with its verdict: the forwarders' state was merged while it ran.
    expect(evidence).toBeUndefined();
    const metrics = await (await fetch(`${judge.apiUrl}/metrics`)).text();
    const accepted = /canary_judge_fleet_points_total\{outcome="accepted"\} (\d+)/.exec(metrics);
    expect(Number(accepted?.[1])).toBeGreaterThan(0);
    expect(metrics).not.toMatch(/canary_judge_fleet_points_total\{outcome="invalid"\}/);
    for (const forwarder of forwarders) {
      const text = await (await fetch(`${forwarder.apiUrl}/metrics`)).text();
      expect(text).toMatch(/canary_judge_fleet_exports_total\{outcome="ok"\} [1-9]/);
    }
  });
});
