// The judge over real SQLite with a fake clock: verdicts from accumulated evidence, history and webhook
// events recorded together, time limits, stop, and resuming every analysis after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/attribution/observation.js';
import { analysisSchema, type Analysis } from '../../src/config/analysis.js';
import { JudgeError, JudgeService, type VerdictPublisher } from '../../src/judge/judge-service.js';
import { VerdictMetrics } from '../../src/publish/verdict-metrics.js';
import { AnalysesRepository } from '../../src/store/analyses-repository.js';
import { Store } from '../../src/store/database.js';
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
    judge: { canaryShare: 0.2, minSamplesPerArm: 100, maxDurationSeconds: 60 },
    webhook: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-enough-length' },
    ...extra,
  });

function observations(
  id: string,
  arm: 'baseline' | 'canary',
  count: number,
  medianMs: number,
  errorRate: number,
  seed: number,
): Observation[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => ({
    kind: 'span' as const,
    analysisId: id,
    arm,
    timeUnixMs: 0,
    durationNanos: Math.round(
      medianMs *
        1e6 *
        Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < errorRate,
  }));
}

let dir: string;
let now: number;
const opened: Store[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-judge-'));
  now = Date.parse('2026-11-25T10:00:00Z');
});
afterEach(() => {
  opened.splice(0).forEach((store) => store.close());
  rmSync(dir, { recursive: true, force: true });
});

function harness() {
  const store = Store.open(join(dir, 'state.sqlite'));
  opened.push(store);
  const accumulator = new Accumulator();
  const routed = new Set<string>();
  const published: Array<{ analysisId: string; data: unknown; inTransaction: boolean }> = [];
  const publisher: VerdictPublisher = {
    enqueue: (event) => {
      published.push({
        analysisId: event.analysisId,
        data: event.data,
        inTransaction: store.db.inTransaction,
      });
      return `event-${published.length}`;
    },
  };
  const judge = new JudgeService({
    repository: new AnalysesRepository(store),
    accumulator,
    routing: { addAnalysis: (a) => void routed.add(a.id), removeAnalysis: (id) => routed.delete(id) },
    metrics: new VerdictMetrics(new Registry()),
    publisher,
    tickIntervalMs: 5000,
    snapshotIntervalMs: 10_000,
    maxAnalyses: 3,
    logger: createLogger('silent'),
    clock: () => now,
  });
  return { store, accumulator, routed, published, judge };
}

describe('JudgeService', () => {
  it('fails a regressed canary, records the change in history and publishes it in the same transaction', () => {
    const { accumulator, routed, published, judge } = harness();
    judge.boot([spec('checkout')]);
    expect(routed.has('checkout')).toBe(true);
    accumulator.accept(observations('checkout', 'baseline', 4000, 100, 0.01, 1));
    accumulator.accept(observations('checkout', 'canary', 1000, 160, 0.01, 2));
    now += 5000;
    judge.tick();

    const view = judge.get('checkout')!;
    expect(view.document).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      samples: { baseline: 4000, canary: 1000 },
    });
    expect(view.document.reason).toMatch(/latency_p50/);
    expect(view.state).toBe('finished');
    expect(routed.has('checkout')).toBe(false);
    expect(judge.history('checkout')).toEqual([
      expect.objectContaining({ verdict: 'fail', action: 'rollback' }),
    ]);
    expect(published).toEqual([{ analysisId: 'checkout', data: view.document, inTransaction: true }]);

    now += 5000;
    judge.tick();
    expect(judge.history('checkout')).toHaveLength(1);
    expect(published).toHaveLength(1);
  });

  it('keeps running below minimum samples and ends inconclusive at the time limit', () => {
    const { accumulator, judge } = harness();
    judge.boot([spec('slow')]);
    accumulator.accept(observations('slow', 'baseline', 40, 100, 0, 3));
    accumulator.accept(observations('slow', 'canary', 10, 100, 0, 4));
    now += 30_000;
    judge.tick(); // the first tick computes full evidence
    judge.tick(); // this one decisions only: the document read below fills in the rest from the same inputs
    const running = judge.get('slow')!.document;
    expect(running.verdict).toBe('running');
    expect(running.metrics.map((metric) => metric.fixedHorizon.test)).toEqual([
      'mann-whitney-u',
      'fisher-exact',
    ]);
    expect(running.metrics.every((metric) => Number.isFinite(metric.fixedHorizon.pValue))).toBe(true);
    expect(judge.list()[0].document.metrics[0].fixedHorizon.test).toBe('skipped');
    now += 30_000;
    judge.tick();
    expect(judge.get('slow')!.document).toMatchObject({ verdict: 'inconclusive', action: 'rollback' });
  });

  it('refuses a second analysis with a live id and more than maxAnalyses, and frees the id on stop', () => {
    const { judge, routed } = harness();
    judge.create(spec('a'), 'api');
    expect(() => judge.create(spec('a'), 'api')).toThrow(JudgeError);
    judge.create(spec('b'), 'api');
    judge.create(spec('c'), 'api');
    expect(() => judge.create(spec('d'), 'api')).toThrow(/at most 3 analyses/);
    expect(judge.stop('a')?.verdict).toBe('running');
    expect(routed.has('a')).toBe(false);
    expect(judge.get('a')).toBeUndefined();
    expect(judge.create(spec('a'), 'api').state).toBe('running');
  });

  it('resumes analyses, their evidence and their started time after a restart', () => {
    const first = harness();
    first.judge.boot([spec('checkout')]);
    first.judge.create(spec('from-api'), 'api');
    first.accumulator.accept(observations('checkout', 'baseline', 400, 100, 0, 5));
    first.accumulator.accept(observations('checkout', 'canary', 100, 100, 0, 6));
    const startedAt = first.judge.get('checkout')!.document.startedAt;
    now += 5000;
    first.judge.tick();
    first.judge.shutdown();
    first.store.close();

    now += 60_000;
    const second = harness();
    second.judge.boot([spec('checkout')]);
    expect(
      second.judge
        .list()
        .map((view) => view.spec.id)
        .sort(),
    ).toEqual(['checkout', 'from-api']);
    expect(second.routed).toEqual(new Set(['checkout', 'from-api']));
    const arms = second.accumulator.read('checkout');
    expect([arms.baseline.requests, arms.canary.requests]).toEqual([400, 100]);
    expect(second.judge.get('checkout')!.document.startedAt).toBe(startedAt);
  });

  it('stops a config analysis that is no longer in the config, and restarts one whose config changed', () => {
    const first = harness();
    first.judge.boot([spec('kept'), spec('dropped'), spec('changed')]);
    first.judge.shutdown();
    first.store.close();
    now += 1000;
    const second = harness();
    second.judge.boot([spec('kept'), spec('changed', { canary: '3' })]);
    expect(
      second.judge
        .list()
        .map((view) => view.spec.id)
        .sort(),
    ).toEqual(['changed', 'kept']);
    expect(second.judge.get('changed')!.spec.canary).toBe('3');
    expect(Date.parse(second.judge.get('changed')!.document.startedAt)).toBe(now);
  });
});
