// Full evidence on demand (issue 13): ticks compute decisions only, and a document read (or a verdict change)
// fills in the fixed-horizon evidence from the same inputs. Here one run is judged twice over the same
// evidence, tick by tick: eagerly (full evidence on every tick, as the judge did before) and lazily; the
// lazily read document must be the eager one, every tick, and the decisions identical.
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { analysisSchema } from '../../src/config/analysis.js';
import { seeded } from '../support/arm-spans.js';
import { newRunJudgement } from '../support/new-run-judgement.js';

const START = Date.parse('2026-11-25T10:00:00Z');
const spec = analysisSchema.parse({
  id: 'checkout',
  variant: { attribute: 'service.version' },
  baseline: '1',
  canary: '2',
  metrics: [
    { name: 'latency', kind: 'latency', quantiles: [0.5, 0.99] },
    { name: 'errors', kind: 'error_rate' },
  ],
  judge: { minSamplesPerArm: 100, maxDurationSeconds: 3600 },
});

function observations(arm: 'baseline' | 'canary', count: number, atMs: number, seed: number): Observation[] {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId: 'run-1',
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: atMs - 5000 + Math.floor((5000 * i) / count),
    durationNanos: Math.round(
      (arm === 'canary' ? 104 : 100) *
        1e6 *
        Math.exp(0.3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < 0.02,
  }));
}

describe('RunJudgement full evidence on demand', () => {
  it('reads, after decision-only ticks, the document full-evidence ticks produced, tick by tick', () => {
    let now = START;
    const accumulator = new Accumulator({
      watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
      clock: () => now,
    });
    accumulator.open('run-1', { startedAtMs: START, canaryShare: 0.2 });
    const eager = newRunJudgement(spec, START);
    const lazy = newRunJudgement(spec, START);
    let lazyVersion: number | undefined;
    let lazyEvidence = accumulator.read('run-1', now);
    for (let tick = 1; tick <= 8; tick += 1) {
      now += 5000;
      // Traffic on most ticks; none on ticks 4 and 5, where the lazy run reuses its copies of the evidence.
      if (tick !== 4 && tick !== 5) {
        accumulator.accept(observations('baseline', 400, now, tick * 2));
        accumulator.accept(observations('canary', 100, now, tick * 2 + 1));
      }
      const watermark = () => accumulator.evidence('run-1')!.watermark;
      const full = eager.evaluate(accumulator.read('run-1', now), watermark(), now, true);
      eager.apply(full);
      const read = accumulator.readSince('run-1', now, lazyVersion);
      expect(read.stages === undefined).toBe(tick === 4 || tick === 5);
      lazyEvidence = read.stages ?? lazyEvidence;
      lazyVersion = read.version;
      const decided = lazy.evaluate(lazyEvidence, watermark(), now, false, read.version);
      lazy.apply(decided);
      // The order-statistic intervals are what decision-only ticks leave out (Fisher's test costs nothing).
      expect(decided.document.metrics.slice(0, 2).map((metric) => metric.fixedHorizon.test)).toEqual([
        'skipped',
        'skipped',
      ]);
      expect([decided.document.verdict, decided.document.reason]).toEqual([
        full.document.verdict,
        full.document.reason,
      ]);
      expect(decided.carried).toEqual(full.carried);
      expect(lazy.fullDocument()).toEqual(eager.fullDocument());
    }
    expect(lazy.fullDocument().metrics.map((metric) => metric.fixedHorizon.test)).toEqual([
      'mann-whitney-u',
      'mann-whitney-u',
      'two-proportion-z',
    ]);
  });
});
