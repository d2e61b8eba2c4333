// A tick over a run whose evidence, stages and carried state are those of its last applied evaluation reuses
// that evaluation's statistics (run-judgement.ts evaluate, issue 13). Here two runs are judged side by side over
// the same traffic: one as the judge does (the evidence copies are kept while nothing new was judged, so quiet
// ticks reuse), the other evaluated from fresh copies on every tick (never reuses). Their documents, carried
// states and full documents must be equal on every tick, through quiet spells, a new stage declared with no
// traffic yet, error blocks still being collected, a verdict reached and the time limit passing while quiet.
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/accumulate/observation.js';
import type { StageEvidence } from '../../src/accumulate/run-evidence.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { analysisSchema } from '../../src/config/analysis.js';
import type { StageRecord } from '../../src/judge/verdict-document.js';
import { seeded } from '../support/arm-spans.js';
import { newRunJudgement } from '../support/new-run-judgement.js';

const START = Date.parse('2026-11-30T05:00:00Z');
const TICK_MS = 5000;

function observations(
  arm: 'baseline' | 'canary',
  count: number,
  atMs: number,
  random: () => number,
  slowdown: number,
  errorRate: number,
): Observation[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId: 'run-1',
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: atMs - TICK_MS + Math.floor((TICK_MS * i) / count),
    durationNanos: Math.round(
      (arm === 'canary' ? 100 * slowdown : 100) *
        1e6 *
        Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < errorRate,
  }));
}

interface Scenario {
  slowdown: number;
  canaryErrorRate: number;
  maxDurationSeconds: number;
  /** Ticks with no traffic (1-based). */
  quiet: ReadonlySet<number>;
  /** Ticks before which a stage with this share is declared. */
  stages: ReadonlyMap<number, number>;
  ticks: number;
}

function judgeSideBySide(scenario: Scenario, seed: number): { reused: number; verdicts: string[] } {
  const spec = analysisSchema.parse({
    id: 'checkout',
    variant: { attribute: 'service.version' },
    baseline: '1',
    canary: '2',
    metrics: [
      { name: 'latency', kind: 'latency', quantiles: [0.5, 0.99], mean: true, tolerance: 0.1 },
      { name: 'errors', kind: 'error_rate', tolerance: 0.01 },
    ],
    judge: { minSamplesPerArm: 100, maxDurationSeconds: scenario.maxDurationSeconds },
  });
  let now = START;
  const accumulator = new Accumulator({
    watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
    clock: () => now,
  });
  accumulator.open('run-1', { startedAtMs: START, canaryShare: 0.2 });
  const reusing = newRunJudgement(spec, START);
  const fresh = newRunJudgement(spec, START);
  const random = seeded(seed);
  let version: number | undefined;
  let evidence: StageEvidence[] = accumulator.read('run-1', now);
  let reused = 0;
  const verdicts: string[] = [];
  for (let tick = 1; tick <= scenario.ticks && reusing.isRunning && !reusing.isDecided; tick += 1) {
    now += TICK_MS;
    const share = scenario.stages.get(tick);
    if (share !== undefined) {
      const stage: StageRecord = { startedAtMs: now - TICK_MS, canaryShare: share, declaredBy: 'api' };
      for (const run of [reusing, fresh]) run.stages.push({ ...stage });
      accumulator.declareStage('run-1', stage);
    }
    if (!scenario.quiet.has(tick)) {
      const canaryShare = reusing.currentShare ?? 0.2;
      const total = 400 + Math.floor(random() * 200);
      const canary = Math.round(total * canaryShare);
      accumulator.accept(observations('baseline', total - canary, now, random, 1, 0.02));
      accumulator.accept(
        observations('canary', canary, now, random, scenario.slowdown, scenario.canaryErrorRate),
      );
    }
    const watermark = accumulator.evidence('run-1')!.watermark;
    const read = accumulator.readSince('run-1', now, version);
    evidence = read.stages ?? evidence;
    version = read.version;
    const kept = reusing.evaluate(evidence, watermark, now, false, read.version);
    // A new array of new copies every tick: the statistics are computed again.
    const computed = fresh.evaluate(accumulator.read('run-1', now), watermark, now, false);
    expect(computed.reused).toBe(false);
    if (kept.reused) reused += 1;
    expect(kept.document).toEqual(computed.document);
    expect(kept.carried).toEqual(computed.carried);
    expect(kept.changed).toBe(computed.changed);
    reusing.apply(kept);
    fresh.apply(computed);
    expect(reusing.fullDocument()).toEqual(fresh.fullDocument());
    verdicts.push(kept.document.verdict);
  }
  return { reused, verdicts };
}

const quietSpells = (...ranges: Array<[number, number]>): Set<number> =>
  new Set(ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i)));

describe('a tick without new evidence reuses the last evaluation', () => {
  it('gives the documents of a full evaluation through quiet spells, a new stage and the time limit', () => {
    // Quiet before the error blocks are trusted (ticks 3-5), right after a new stage is declared (ticks 13-15,
    // the stage has no samples yet), and at the end while the time limit passes (tick 24 on, 120 s).
    const { reused, verdicts } = judgeSideBySide(
      {
        slowdown: 1,
        canaryErrorRate: 0.02,
        maxDurationSeconds: 120,
        quiet: quietSpells([3, 5], [13, 15], [22, 30]),
        stages: new Map([[13, 0.5]]),
        ticks: 30,
      },
      11,
    );
    // Ticks 3-5, 14-15 and 22-24 reuse (tick 13 declares the stage); the time limit passes at tick 24.
    expect(reused).toBe(8);
    expect(verdicts.at(-1)).toBe('inconclusive');
  });

  it('gives the documents of a full evaluation on a regressed canary until it fails', () => {
    const { reused, verdicts } = judgeSideBySide(
      {
        slowdown: 1.2,
        canaryErrorRate: 0.02,
        maxDurationSeconds: 3600,
        // Fails at tick 8: quiet at ticks 2-3 (before the error blocks are trusted) and 6-7 (a new stage).
        quiet: quietSpells([2, 3], [6, 7], [11, 12]),
        stages: new Map([[6, 0.3]]),
        ticks: 40,
      },
      23,
    );
    expect(reused).toBe(3);
    expect(verdicts.at(-1)).toBe('fail');
  });

  it("keeps a healthy canary's documents with every third tick quiet", () => {
    const quiet = new Set(Array.from({ length: 60 }, (_, i) => i + 1).filter((t) => t % 3 === 0));
    const { reused, verdicts } = judgeSideBySide(
      {
        slowdown: 1,
        canaryErrorRate: 0.02,
        maxDurationSeconds: 3600,
        quiet,
        stages: new Map(),
        ticks: 60,
      },
      5,
    );
    expect(reused).toBe(20);
    expect(verdicts).toHaveLength(60);
  });
});
