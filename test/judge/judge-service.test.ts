// The judge over real SQLite with a fake clock: runs (one per rollout revision) judged from their own evidence,
// history and webhook events recorded together, stages, time limits, and resuming runs after a restart.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS, type WatermarkSettings } from '../../src/accumulate/source-watermark.js';
import { analysisSchema, type Analysis } from '../../src/config/analysis.js';
import {
  JudgeError,
  JudgeService,
  type JudgeServiceOptions,
  type VerdictPublisher,
} from '../../src/judge/judge-service.js';
import { MAX_STAGES_PER_RUN } from '../../src/judge/run-book.js';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import { VerdictMetrics } from '../../src/publish/verdict-metrics.js';
import { AnalysesRepository } from '../../src/store/analyses-repository.js';
import { Store } from '../../src/store/database.js';
import { RunsRepository } from '../../src/store/runs-repository.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { seeded } from '../support/arm-spans.js';

const spec = (id: string, extra: Record<string, unknown> = {}): Analysis =>
  analysisSchema.parse({
    id,
    variant: { attribute: 'service.version' },
    baseline: '1',
    canary: '2',
    metrics: [
      { name: 'latency', kind: 'latency', quantiles: [0.5] },
      { name: 'errors', kind: 'error_rate' },
    ],
    judge: { minSamplesPerArm: 100, maxDurationSeconds: 60 },
    webhook: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-enough-length' },
    ...extra,
  });

let now: number;
let runNumber: number;

/** `count` spans of one arm, lognormal around `medianMs`, at event times spread over the last 10 s. */
function observations(
  runId: string,
  arm: 'baseline' | 'canary',
  count: number,
  medianMs: number,
  errorRate: number,
  seed: number,
): Observation[] {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId,
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: now - 10_000 + Math.floor((10_000 * i) / count),
    durationNanos: Math.round(
      medianMs *
        1e6 *
        Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < errorRate,
  }));
}

let dir: string;
const opened: Store[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-judge-'));
  now = Date.parse('2026-11-25T10:00:00Z');
  runNumber = 0;
});
afterEach(() => {
  opened.splice(0).forEach((store) => store.close());
  rmSync(dir, { recursive: true, force: true });
});

/** Without a watermark hold by default (maxHoldMs 0): what arrived is judged; one test uses the real one. */
function harness(
  watermark: WatermarkSettings = { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
  overrides: Partial<JudgeServiceOptions> = {},
) {
  const store = Store.open(join(dir, 'state.sqlite'));
  opened.push(store);
  const accumulator = new Accumulator({ watermark, clock: () => now });
  const routed = new Map<string, Analysis>();
  const published: Array<{ analysisId: string; data: unknown; inTransaction: boolean }> = [];
  let failNextEnqueue = false;
  const publisher: VerdictPublisher = {
    enqueue: (event) => {
      if (failNextEnqueue) {
        failNextEnqueue = false;
        throw new Error('SQLITE_FULL: database or disk is full');
      }
      published.push({
        analysisId: event.analysisId,
        data: event.data,
        inTransaction: store.db.inTransaction,
      });
      return `event-${published.length}`;
    },
  };
  const registry = new Registry();
  const judge = new JudgeService({
    analyses: new AnalysesRepository(store),
    runs: new RunsRepository(store),
    accumulator,
    routing: {
      routeRun: (runId, analysis) => void routed.set(runId, analysis),
      unrouteRun: (runId) => routed.delete(runId),
    },
    metrics: new VerdictMetrics(registry),
    publisher,
    tickIntervalMs: 5000,
    snapshotIntervalMs: 10_000,
    maxAnalyses: 10,
    maxRunningRuns: 2,
    maxFinishedRuns: 3,
    logger: createLogger('silent'),
    clock: () => now,
    newRunId: () => `run-${(runNumber += 1)}`,
    ...overrides,
  });
  const failNextRecording = () => (failNextEnqueue = true);
  return { store, accumulator, routed, published, judge, failNextRecording, registry };
}

type Harness = ReturnType<typeof harness>;

/** One tick's traffic: 4,000 baseline and 1,000 canary requests, error-free. */
function feed(h: Harness, runId: string, canaryMedianMs: number, seed: number): void {
  h.accumulator.accept(observations(runId, 'baseline', 4000, 100, 0, seed));
  h.accumulator.accept(observations(runId, 'canary', 1000, canaryMedianMs, 0, seed + 1));
}

function tick(h: Harness, ms = 5000): void {
  now += ms;
  h.judge.tick();
}

describe('JudgeService runs', () => {
  it('fails a regressed revision, records the change in history and publishes it in the same transaction', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    expect(h.routed.size).toBe(0); // a definition judges nothing until a run starts
    const { document, created } = h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    expect([created, document.runId, document.revision, document.verdict]).toEqual([
      true,
      'run-1',
      'rev-a',
      'running',
    ]);
    expect([...h.routed.keys()]).toEqual(['run-1']);
    feed(h, 'run-1', 160, 1);
    tick(h);

    const failed = h.judge.getRun('run-1')!;
    expect(failed).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      state: 'finished',
      endReason: 'verdict fail',
    });
    expect(failed.reason).toMatch(/latency_p50/);
    expect(h.routed.size).toBe(0);
    expect(h.judge.runHistory('run-1')).toEqual([
      expect.objectContaining({ runId: 'run-1', verdict: 'fail', action: 'rollback' }),
    ]);
    expect(h.published.map((event) => ({ ...event, data: JSON.parse(JSON.stringify(event.data)) }))).toEqual([
      { analysisId: 'checkout', data: failed, inTransaction: true },
    ]);
    tick(h);
    expect([h.judge.runHistory('run-1').length, h.published.length]).toEqual([1, 1]);
  });

  it('decides in the timer`s sliced tick as in tick(): the same verdict, history and event, once', async () => {
    const h = harness();
    h.judge.boot([spec('checkout'), spec('cart')]);
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    h.judge.startRun('cart', 'rev-a', { declaredBy: 'api' });
    feed(h, 'run-1', 160, 1);
    feed(h, 'run-2', 100, 11);
    now += 5000;
    await h.judge.tickInSlices();
    expect(h.judge.getRun('run-1')).toMatchObject({ verdict: 'fail', endReason: 'verdict fail' });
    expect(h.judge.getRun('run-2')!.verdict).toBe('running');
    expect([...h.routed.keys()]).toEqual(['run-2']);
    expect(h.published.map((event) => [event.analysisId, event.inTransaction])).toEqual([['checkout', true]]);
    // Ticks decide only; the verdict change computed the full evidence for its webhook and history.
    const sent = h.published[0].data as VerdictDocument;
    expect(sent.metrics.map((metric) => metric.fixedHorizon.test)).toEqual([
      'mann-whitney-u',
      'fisher-exact',
    ]);
    expect(sent.metrics.every((metric) => Number.isFinite(metric.fixedHorizon.pValue))).toBe(true);
    expect(h.judge.runHistory('run-1')[0].document).toEqual(JSON.parse(JSON.stringify(sent)));
    expect(h.judge.lastTickMs).toBeGreaterThan(0);
    expect(h.judge.lastTickSliceMs).toBeLessThanOrEqual(h.judge.lastTickMs);
    now += 5000;
    await h.judge.tickInSlices();
    expect([h.judge.runHistory('run-1').length, h.published.length]).toEqual([1, 1]);
  });

  it('judges each revision from its own evidence: a stale verdict never decides the next rollout', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    feed(h, 'run-1', 160, 3);
    tick(h);
    expect(h.judge.getRun('run-1')!.verdict).toBe('fail');

    // The next revision starts from empty evidence: the first run's fail does not abort it.
    const next = h.judge.startRun('checkout', 'rev-b', { declaredBy: 'api' });
    expect([next.created, next.document.verdict, next.document.samples]).toEqual([
      true,
      'running',
      { baseline: 0, canary: 0 },
    ]);
    feed(h, 'run-2', 100, 5);
    for (let i = 0; i < 30 && h.judge.getRun('run-2')!.verdict === 'running'; i += 1) {
      feed(h, 'run-2', 100, 10 + i);
      tick(h);
    }
    expect(h.judge.getRun('run-2')!.verdict).toBe('pass');
    // A controller polling the latest revision after its decision reads that decision.
    expect(h.judge.startRun('checkout', 'rev-b', { declaredBy: 'argo' })).toMatchObject({
      created: false,
      document: { runId: 'run-2', verdict: 'pass' },
    });
    expect(h.judge.listRuns('checkout', 10).map((run) => run.runId)).toEqual(['run-2', 'run-1']);
  });

  it('judges a revision deployed again after another (a revert) by a new attempt, never by its old verdict', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    feed(h, 'run-1', 160, 3);
    tick(h);
    h.judge.startRun('checkout', 'rev-b', { declaredBy: 'api' });
    const again = h.judge.startRun('checkout', 'rev-a', { declaredBy: 'flagger' });
    expect(again).toMatchObject({
      created: true,
      document: { runId: 'run-3', revision: 'rev-a', attempt: 2 },
    });
    expect(again.document.verdict).toBe('running');
    expect(h.judge.getRun('run-1')!.verdict).toBe('fail'); // the first attempt stays as it ended
    expect(h.judge.getRun('run-2')).toMatchObject({
      state: 'aborted',
      endReason: 'superseded by revision rev-a',
    });
    expect(h.judge.findRun('checkout', 'rev-a')!.runId).toBe('run-3');
  });

  it('starts a new attempt when the controller starts over: a restart, or a weight lower than the run`s', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.3, declaredBy: 'argo' });
    feed(h, 'run-1', 160, 3);
    tick(h);
    // Polling the failed run at its weight reads its verdict; a higher weight too (a failed run takes no stage).
    for (const canaryShare of [undefined, 0.3, 0.5]) {
      expect(h.judge.startRun('checkout', 'rev-a', { canaryShare, declaredBy: 'argo' })).toMatchObject({
        created: false,
        document: { runId: 'run-1', verdict: 'fail' },
      });
    }
    // The rollout was retried from its first step: a lower weight is a new attempt.
    expect(h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.1, declaredBy: 'argo' })).toMatchObject({
      created: true,
      document: { runId: 'run-2', attempt: 2, stages: [expect.objectContaining({ canaryShare: 0.1 })] },
    });
    // A restart (Flagger's pre-rollout) of a running attempt changes nothing; of an ended one it starts the next.
    expect(h.judge.startRun('checkout', 'rev-a', { declaredBy: 'flagger', restart: true }).created).toBe(
      false,
    );
    h.judge.abortRun('run-2', 'test');
    expect(
      h.judge.startRun('checkout', 'rev-a', { declaredBy: 'flagger', restart: true }).document.attempt,
    ).toBe(3);
  });

  it('supersedes the running run when a new revision starts, and keeps the old one read-only', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    feed(h, 'run-1', 100, 7);
    h.judge.startRun('checkout', 'rev-b', { declaredBy: 'api' });
    expect(h.judge.getRun('run-1')).toMatchObject({
      state: 'aborted',
      endReason: 'superseded by revision rev-b',
    });
    expect([...h.routed.keys()]).toEqual(['run-2']);
    expect(() => h.judge.declareStage('run-1', 0.5, 'api')).toThrow(/superseded by revision rev-b/);
    expect(() => h.judge.abortRun('run-1', 'again')).toThrow(JudgeError);
  });

  it('counts the time limit from the run start, not from boot', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    now += 15 * 60_000; // the rollout begins 15 min after the sidecar started (maxDurationSeconds 60)
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    h.accumulator.accept(observations('run-1', 'baseline', 40, 100, 0, 3));
    h.accumulator.accept(observations('run-1', 'canary', 10, 100, 0, 4));
    tick(h, 30_000);
    expect(h.judge.getRun('run-1')!.verdict).toBe('running');
    tick(h, 30_000);
    expect(h.judge.getRun('run-1')).toMatchObject({
      verdict: 'inconclusive',
      action: 'rollback',
      state: 'finished',
    });
  });

  it('computes fixed-horizon evidence when a document is read, never on a tick', () => {
    const h = harness();
    h.judge.boot([spec('slow')]);
    h.judge.startRun('slow', 'r', { declaredBy: 'api' });
    h.accumulator.accept(observations('run-1', 'baseline', 40, 100, 0, 3));
    h.accumulator.accept(observations('run-1', 'canary', 10, 100, 0, 4));
    tick(h);
    tick(h); // ticks decide only: the document read below fills in the rest from the same inputs
    expect(h.judge.listRuns('slow', 1)[0].metrics[0].fixedHorizon.test).toBe('skipped');
    const document = h.judge.getRun('run-1')!;
    expect(document.metrics.map((metric) => metric.fixedHorizon.test)).toEqual([
      'mann-whitney-u',
      'fisher-exact',
    ]);
    expect(document.metrics.every((metric) => Number.isFinite(metric.fixedHorizon.pValue))).toBe(true);
  });

  it('refreshes the descriptive series on /metrics when a document is read (ticks do not), and exports its slices', async () => {
    const h = harness();
    h.judge.boot([spec('slow')]);
    h.judge.startRun('slow', 'r', { declaredBy: 'api' });
    feed(h, 'run-1', 100, 3);
    now += 5000;
    await h.judge.tickInSlices();
    const descriptive =
      /^canary_judge_metric_descriptive_fixed_horizon_p_value\{analysis="slow",metric="latency_p50"\} /m;
    expect(await h.registry.metrics()).not.toMatch(descriptive);
    expect(h.judge.getRun('run-1')!.verdict).toBe('running');
    const text = await h.registry.metrics();
    expect(text).toMatch(descriptive);
    // One slice held the event loop for this one-run tick; the histogram says how long.
    expect(text).toMatch(/^canary_judge_judge_slice_duration_seconds_count 1$/m);
    expect(text).toMatch(/^canary_judge_judge_tick_duration_seconds_count 1$/m);
  });

  it('judges every stage: a new stage re-opens a passed run, which must pass again on the new stage', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.2, declaredBy: 'argo' });
    for (let i = 0; i < 30 && h.judge.getRun('run-1')!.verdict === 'running'; i += 1) {
      feed(h, 'run-1', 100, 20 + i);
      tick(h);
    }
    expect(h.judge.getRun('run-1')).toMatchObject({ verdict: 'pass', state: 'finished', stage: 1 });
    // The controller steps the weight for the same revision: the run is judged again at 50%.
    const reopened = h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.5, declaredBy: 'argo' });
    expect(reopened).toMatchObject({
      created: false,
      document: { runId: 'run-1', verdict: 'running', stage: 2 },
    });
    expect(reopened.document.stages.map((stage) => [stage.canaryShare, stage.declaredBy])).toEqual([
      [0.2, 'argo'],
      [0.5, 'argo'],
    ]);
    tick(h);
    expect(h.judge.getRun('run-1')!.verdict).toBe('running'); // no evidence from the new stage yet
    h.accumulator.accept(observations('run-1', 'baseline', 300, 100, 0.01, 40));
    h.accumulator.accept(observations('run-1', 'canary', 300, 240, 0.01, 41));
    tick(h);
    expect(h.judge.getRun('run-1')).toMatchObject({ verdict: 'fail', stage: 2 });
    expect(h.judge.runHistory('run-1').map((entry) => entry.verdict)).toEqual(['pass', 'running', 'fail']);
    expect(h.published.map((event) => (event.data as { verdict: string }).verdict)).toEqual([
      'pass',
      'running',
      'fail',
    ]);
    // A failed run takes no stage: only a new revision is judged again.
    expect(() => h.judge.declareStage('run-1', 0.6, 'api')).toThrow(/ended \(verdict fail\)/);
  });

  it('declares a stage only when the share changes, so controller retries add none', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.2, declaredBy: 'argo' });
    h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.2, declaredBy: 'argo' });
    h.judge.declareStage('run-1', 0.2, 'api');
    expect(h.judge.getRun('run-1')!.stages).toHaveLength(1);
    expect(h.judge.declareStage('run-1', 0.3, 'api').stages).toHaveLength(2);
  });

  it('bounds the stages of one run (each keeps its own evidence) and says which limit refused', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { canaryShare: 0.01, declaredBy: 'api' });
    for (let i = 2; i <= MAX_STAGES_PER_RUN; i++) h.judge.declareStage('run-1', i / 100, 'api');
    expect(h.judge.getRun('run-1')!.stages).toHaveLength(MAX_STAGES_PER_RUN);
    expect(() => h.judge.declareStage('run-1', 0.9, 'api')).toThrow(/64 stages \(the stages-per-run limit\)/);
    // The run itself goes on being judged.
    expect(h.judge.getRun('run-1')!.state).toBe('running');
  });

  it('does not fail a healthy canary when stable batches arrive before the canary`s (watermark)', () => {
    const h = harness({ ...DEFAULT_WATERMARK_SETTINGS }); // the real watermark
    h.judge.boot([spec('split', { judge: { canaryShare: 0.1, minSamplesPerArm: 100 } })]);
    h.judge.startRun('split', 'rev', { declaredBy: 'api' });
    const at = (arm: 'baseline' | 'canary', pod: string, count: number, fromMs: number): Observation[] =>
      observations('run-1', arm, count, 100, 0, fromMs).map((o, i) => ({
        ...o,
        sourceKey: pod,
        timeUnixMs: fromMs + Math.floor((5_000 * i) / count),
      }));
    const t0 = now;
    // Two stable pods' 5 s batches twice (540 spans), ticking between arrivals, before the canary's first.
    for (const [from, pod] of [
      [t0, 'stable-a'],
      [t0, 'stable-b'],
      [t0 + 5000, 'stable-a'],
      [t0 + 5000, 'stable-b'],
    ] as const) {
      now = from + 5_200;
      h.accumulator.accept(at('baseline', pod, 135, from));
      h.judge.tick();
    }
    expect(h.judge.getRun('run-1')).toMatchObject({
      verdict: 'running',
      samples: { baseline: 0, canary: 0 },
    });
    now = t0 + 10_500;
    h.accumulator.accept(at('canary', 'canary-a', 30, t0));
    h.judge.tick();
    expect(h.judge.getRun('run-1')!.verdict).toBe('running');
    expect(h.judge.getRun('run-1')!.trafficSplit).toMatchObject({
      expectedCanaryShare: 0.1,
      mismatch: false,
    });
  });

  it('shows a verdict change it cannot record (disk full) and records it with its event at the next tick', () => {
    const h = harness();
    h.judge.boot([spec('checkout')]);
    h.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    feed(h, 'run-1', 160, 1);
    h.failNextRecording();
    tick(h);
    expect(h.judge.getRun('run-1')).toMatchObject({ verdict: 'fail', state: 'finished' });
    expect([h.judge.runHistory('run-1').length, h.published.length, h.routed.size]).toEqual([0, 0, 1]);
    tick(h);
    expect(h.judge.getRun('run-1')).toMatchObject({ verdict: 'fail', state: 'finished' });
    expect([h.judge.runHistory('run-1').length, h.published.length]).toEqual([1, 1]);
  });

  it('limits running runs (ended ones do not count) and keeps at most maxFinishedRuns ended runs', () => {
    const h = harness();
    h.judge.boot([spec('a'), spec('b'), spec('c')]);
    h.judge.startRun('a', '1', { declaredBy: 'api' });
    h.judge.startRun('b', '1', { declaredBy: 'api' });
    expect(() => h.judge.startRun('c', '1', { declaredBy: 'api' })).toThrow(/at most 2 runs/);
    now += 1000;
    h.judge.startRun('a', '2', { declaredBy: 'api' }); // supersedes a/1: still two running
    now += 1000;
    h.judge.abortRun('run-2', 'test');
    expect(h.judge.startRun('c', '1', { declaredBy: 'api' }).created).toBe(true);
    for (const revision of ['3', '4', '5']) {
      now += 1000;
      h.judge.startRun('a', revision, { declaredBy: 'api' });
    }
    // Ended, oldest first: a/1, b/1, a/2, a/3, a/4 (a/5 and c/1 run). The snapshot timer keeps the newest three.
    h.judge.snapshot();
    expect(h.judge.listRuns('a', 10).map((run) => run.revision)).toEqual(['5', '4', '3', '2']);
    expect(h.judge.listRuns('b', 10)).toEqual([]);
    expect(h.judge.runHistory('run-1')).toEqual([]);
  });
});

/** A judge with runs of two analyses holding evidence, ticked once and snapshotted by the timer's sliced snapshot. */
async function twoRunsSnapshotted(): Promise<ReturnType<typeof harness>> {
  const first = harness();
  first.judge.boot([spec('checkout'), spec('cart')]);
  first.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
  first.judge.startRun('cart', 'rev-a', { declaredBy: 'api' });
  first.accumulator.accept(observations('run-1', 'baseline', 400, 100, 0, 5));
  first.accumulator.accept(observations('run-2', 'canary', 100, 100, 0, 6));
  tick(first);
  await first.judge.snapshotInSlices();
  return first;
}

describe('JudgeService definitions and restarts', () => {
  it('resumes from the timer`s sliced snapshot as from a whole one, after a crash (no shutdown)', async () => {
    const first = await twoRunsSnapshotted();
    first.store.close(); // no shutdown: only the timer's snapshot was saved

    const second = harness();
    second.judge.boot([spec('checkout'), spec('cart')]);
    expect([...second.routed.keys()].sort()).toEqual(['run-1', 'run-2']);
    const [checkout] = second.accumulator.read('run-1');
    const [cart] = second.accumulator.read('run-2');
    expect([checkout.baseline.requests, cart.canary.requests]).toEqual([400, 100]);
  });

  it('checkpoints the write-ahead log between the slices of a snapshot, and resumes runs saved in pieces', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    // One run per slice (a 1-byte cap), against the whole snapshot in one transaction that shutdown takes.
    const fill = async (sliced: boolean) => {
      // With a watermark hold and no tick yet, each run's evidence waits in per-second slices: snapshots of
      // thousands of buckets, large against the log's page overhead (with no hold it is judged at once).
      const h = harness(
        { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 60_000 },
        { maxRunningRuns: 8, snapshotSliceBytes: 1 },
      );
      h.judge.boot(ids.map((id) => spec(id)));
      ids.forEach((id, i) => {
        h.judge.startRun(id, 'rev-a', { declaredBy: 'api' });
        // Latencies spread over three orders of magnitude: every snapshot holds a few hundred buckets.
        h.accumulator.accept(
          observations(`run-${runNumber}`, 'baseline', 3000, 10 * (i + 1), 0, 2 * i + 1).map((o, k) =>
            o.kind === 'span' ? { ...o, durationNanos: o.durationNanos * 10 ** (k % 3) } : o,
          ),
        );
        h.accumulator.accept(observations(`run-${runNumber}`, 'canary', 500 + i, 100, 0, 2 * i + 2));
      });
      h.store.db.pragma('wal_checkpoint(TRUNCATE)'); // the log empty: what follows is the snapshot's
      const pagesBefore = h.judge.checkpointedPages;
      if (sliced) await h.judge.snapshotInSlices();
      else h.judge.snapshot();
      const snapshotBytes = (
        h.store.db.prepare('SELECT sum(length(state_json)) AS bytes FROM run_snapshots').get() as {
          bytes: number;
        }
      ).bytes;
      return { h, snapshotBytes, walBytes: statSync(`${h.store.path}-wal`).size, pagesBefore };
    };
    const whole = await fill(false);
    expect(whole.walBytes).toBeGreaterThan(whole.snapshotBytes); // all of it waits in the log
    whole.h.store.close();
    runNumber = 0;
    rmSync(join(dir, 'state.sqlite'));
    rmSync(join(dir, 'state.sqlite-wal'), { force: true });

    const sliced = await fill(true);
    // The log was copied into the database after each run's slice and restarted from its beginning after, so
    // its file never grew beyond about one run's snapshot.
    expect(sliced.h.judge.checkpointedPages).toBeGreaterThan(sliced.pagesBefore);
    expect(sliced.walBytes).toBeLessThan(sliced.snapshotBytes / 2);
    sliced.h.store.close(); // a crash: only the sliced snapshot was saved

    const second = harness(undefined, { maxRunningRuns: 8 });
    second.judge.boot(ids.map((id) => spec(id)));
    expect([...second.routed.keys()].sort()).toEqual(ids.map((_, i) => `run-${i + 1}`).sort());
    expect(ids.map((_, i) => second.accumulator.read(`run-${i + 1}`)[0].canary.requests)).toEqual(
      ids.map((_, i) => 500 + i),
    );
  });

  it("exports a sliced snapshot's wall time, its rests included, beside the slices that held the loop", async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const h = harness(undefined, { maxRunningRuns: 6, snapshotSliceBytes: 1 }); // one run per slice
    h.judge.boot(ids.map((id) => spec(id)));
    ids.forEach((id, i) => {
      h.judge.startRun(id, 'rev-a', { declaredBy: 'api' });
      h.accumulator.accept(observations(`run-${runNumber}`, 'baseline', 2000, 10 * (i + 1), 0, 2 * i + 1));
      h.accumulator.accept(observations(`run-${runNumber}`, 'canary', 500, 100, 0, 2 * i + 2));
    });
    const sample = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const started = performance.now();
    await h.judge.snapshotInSlices();
    const elapsedSeconds = (performance.now() - started) / 1000;
    const text = await h.registry.metrics();
    expect(sample(text, 'canary_judge_judge_snapshot_duration_seconds_count')).toBe(1);
    const wall = sample(text, 'canary_judge_judge_snapshot_duration_seconds_sum');
    // Six runs' slices and six checkpoints held the loop; the rests between them (each about as long as the
    // slice before it) count in the snapshot's wall time too, which the await above bounds.
    expect(sample(text, 'canary_judge_judge_slice_duration_seconds_count')).toBe(12);
    expect(wall).toBeGreaterThan(sample(text, 'canary_judge_judge_slice_duration_seconds_sum'));
    expect(wall).toBeLessThanOrEqual(elapsedSeconds);
    h.judge.snapshot(); // the whole one (tests, benches) is observed too
    expect(sample(await h.registry.metrics(), 'canary_judge_judge_snapshot_duration_seconds_count')).toBe(2);
  });

  it('observes no snapshot that was skipped: one already under way, or one the shutdown cut short', async () => {
    const ids = ['a', 'b', 'c'];
    const h = harness(undefined, { maxRunningRuns: 3, snapshotSliceBytes: 1 });
    h.judge.boot(ids.map((id) => spec(id)));
    ids.forEach((id, i) => {
      h.judge.startRun(id, 'rev-a', { declaredBy: 'api' });
      h.accumulator.accept(observations(`run-${runNumber}`, 'baseline', 2000, 10, 0, 2 * i + 1));
    });
    const count = async () =>
      Number(
        /^canary_judge_judge_snapshot_duration_seconds_count (\S+)$/m.exec(await h.registry.metrics())?.[1],
      );
    // A second call while one is under way returns at once (the timer's overlap guard): one snapshot, one record.
    await Promise.all([h.judge.snapshotInSlices(), h.judge.snapshotInSlices()]);
    expect(await count()).toBe(1);
    // A snapshot the shutdown stops, unfinished, is not recorded (the shutdown's own whole snapshot is not the
    // timer's, and is not either).
    const slices = async () =>
      Number(
        /^canary_judge_judge_slice_duration_seconds_count (\S+)$/m.exec(await h.registry.metrics())?.[1],
      );
    expect(await slices()).toBe(6); // three runs: a slice and a checkpoint each
    // Shut down once its first slice is done (in the rest before its checkpoint), then once its first
    // checkpoint is (in the rest before the next run's slice): each rest is a timer, then a check phase.
    for (const [attempt, slicesDone] of [1, 2].entries()) {
      // New evidence in every run, so that each is written again, in a slice of its own with rests between.
      ids.forEach((_, i) =>
        h.accumulator.accept(observations(`run-${i + 1}`, 'canary', 500, 10, 0, 10 * attempt + i + 2)),
      );
      h.judge.start();
      const before = await slices();
      const midway = h.judge.snapshotInSlices();
      while ((await slices()) < before + slicesDone) await new Promise((resolve) => setImmediate(resolve));
      h.judge.shutdown();
      await midway;
      expect(await slices(), `stopped after ${slicesDone}`).toBeLessThan(before + 6);
      expect(await count(), `stopped after ${slicesDone}`).toBe(1);
    }
    // Shut down before its first slice: likewise.
    h.judge.start();
    const cut = h.judge.snapshotInSlices();
    h.judge.shutdown();
    await cut;
    expect(await count()).toBe(1);
  });

  it('rewrites in a snapshot only the runs whose evidence changed, and resumes them all as they were', async () => {
    const first = await twoRunsSnapshotted();
    const takenAt = () =>
      Object.fromEntries(
        (
          first.store.db.prepare('SELECT run_id, taken_at_ms FROM run_snapshots').all() as Array<{
            run_id: string;
            taken_at_ms: number;
          }>
        ).map((row) => [row.run_id, row.taken_at_ms]),
      );
    const before = takenAt();
    now += 10_000;
    first.accumulator.accept(observations('run-2', 'baseline', 300, 100, 0, 7)); // only cart gets traffic
    tick(first);
    await first.judge.snapshotInSlices();
    expect(takenAt()).toEqual({ 'run-1': before['run-1'], 'run-2': now });
    // Nor was checkout's row rewritten: its document is the one stored with that snapshot.
    const updatedAt = (id: string) =>
      (
        first.store.db.prepare('SELECT updated_at_ms FROM runs WHERE id = ?').get(id) as {
          updated_at_ms: number;
        }
      ).updated_at_ms;
    expect([updatedAt('run-1'), updatedAt('run-2')]).toEqual([now - 15_000, now]); // the first tick's, then this one's
    first.store.close(); // a crash: only the timer's snapshots were saved

    const second = harness();
    second.judge.boot([spec('checkout'), spec('cart')]);
    const [checkout] = second.accumulator.read('run-1');
    const [cart] = second.accumulator.read('run-2');
    expect([checkout.baseline.requests, cart.baseline.requests, cart.canary.requests]).toEqual([
      400, 300, 100,
    ]);
  });

  it('resumes running runs with their evidence and start time after a restart', () => {
    const first = harness();
    first.judge.boot([spec('checkout')]);
    first.judge.putAnalysis(spec('from-api'), 'api', false);
    first.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' });
    first.accumulator.accept(observations('run-1', 'baseline', 400, 100, 0, 5));
    first.accumulator.accept(observations('run-1', 'canary', 100, 100, 0, 6));
    const startedAt = first.judge.getRun('run-1')!.startedAt;
    tick(first);
    first.judge.shutdown();
    first.store.close();

    now += 60_000;
    const second = harness();
    second.judge.boot([spec('checkout')]);
    expect(
      second.judge
        .listAnalyses()
        .map((definition) => definition.spec.id)
        .sort(),
    ).toEqual(['checkout', 'from-api']);
    expect([...second.routed.keys()]).toEqual(['run-1']);
    const [stage] = second.accumulator.read('run-1');
    expect([stage.baseline.requests, stage.canary.requests]).toEqual([400, 100]);
    expect(second.judge.getRun('run-1')!.startedAt).toBe(startedAt);
    expect(second.judge.startRun('checkout', 'rev-a', { declaredBy: 'api' }).created).toBe(false);
  });

  it('starts the run a config analysis asks for once per revision, and a new one when the revision changes', () => {
    const first = harness();
    first.judge.boot([spec('flag', { run: { revision: 'v1' } }), spec('idle')]);
    expect(first.judge.listRuns('flag', 10).map((run) => run.revision)).toEqual(['v1']);
    expect(first.judge.listRuns('idle', 10)).toEqual([]);
    first.judge.shutdown();
    first.store.close();
    now += 1000;
    const second = harness();
    second.judge.boot([spec('flag', { run: { revision: 'v1' } })]);
    expect(second.judge.listRuns('flag', 10).map((run) => [run.revision, run.state])).toEqual([
      ['v1', 'running'],
    ]);
    expect(second.judge.listAnalyses().map((definition) => definition.spec.id)).toEqual(['flag']); // idle removed
    second.judge.shutdown();
    second.store.close();
    const third = harness();
    third.judge.boot([spec('flag', { run: { revision: 'v2' } })]);
    expect(third.judge.listRuns('flag', 10).map((run) => [run.revision, run.state])).toEqual([
      ['v2', 'running'],
      ['v1', 'aborted'],
    ]);
  });

  it('keeps config definitions read-only to the API and deletes API definitions with their running run', () => {
    const h = harness();
    h.judge.boot([spec('from-config')]);
    expect(() => h.judge.putAnalysis(spec('from-config'), 'api', true)).toThrow(/defined in the config/);
    expect(() => h.judge.deleteAnalysis('from-config')).toThrow(/defined in the config/);
    h.judge.putAnalysis(spec('from-api'), 'api', false);
    expect(() => h.judge.putAnalysis(spec('from-api'), 'api', false)).toThrow(/exists/);
    h.judge.startRun('from-api', 'r', { declaredBy: 'api' });
    expect(h.judge.deleteAnalysis('from-api')).toBe(true);
    expect(h.judge.getRun('run-1')).toMatchObject({ state: 'aborted', endReason: 'analysis deleted' });
    expect(() => h.judge.startRun('from-api', 'r2', { declaredBy: 'api' })).toThrow(/no analysis/);
  });
});
