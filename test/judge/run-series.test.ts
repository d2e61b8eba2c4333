// The judge's chart points (judge/run-series.ts) are held back and written a few per run at a time, the runs
// staggered, so that a tick's commits dirty fewer pages of the write-ahead log (issue 13). What the report page
// reads must not change: after every tick each run's points read exactly as when every point was appended on its
// own (the store's thinning included), and after shutdown's flush the store itself holds them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RunSeriesRecorder,
  SERIES_POINTS_PER_WRITE,
  seriesPoint,
  type RunSeriesSink,
} from '../../src/judge/run-series.js';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import { Store } from '../../src/store/database.js';
import { RunSeriesRepository, type SerializedSeriesEntry } from '../../src/store/run-series-repository.js';
import { createLogger } from '../../src/telemetry/logger.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function openStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-series-'));
  dirs.push(dir);
  return Store.open(join(dir, 'state.sqlite'));
}

const T0 = Date.parse('2026-12-01T10:00:00Z');

/** The fields of a verdict document a chart point reads. */
function documentOf(runId: string, tick: number, samples: number, state = 'running'): VerdictDocument {
  return {
    runId,
    state,
    verdict: state === 'running' ? 'running' : 'pass',
    updatedAt: new Date(T0 + tick * 5000).toISOString(),
    stage: 1 + Math.floor(tick / 10),
    stages: [],
    samples: { baseline: 9 * samples, canary: samples },
    trafficSplit:
      samples === 0
        ? null
        : {
            expectedCanaryShare: 0.1,
            observedCanaryShare: samples / (10 * samples),
            alwaysValidPValue: 1 / (1 + samples),
          },
    metrics: [
      {
        id: 'latency_p95',
        effect: {
          estimate: 1 + samples / 1000,
          lower: samples === 0 ? -Infinity : 0.9,
          lowerLevel: 0.995,
          upper: null,
        },
        decision: 'running',
        alwaysValidPValue: 1,
        withinPValue: 0.5,
        samples: { baseline: 9 * samples, canary: samples },
      },
    ],
  } as unknown as VerdictDocument;
}

describe('run series recorder', () => {
  it('reads as if each point were appended on its own, through thinning, ended and vanished runs, and shutdown', () => {
    const referenceStore = openStore();
    const reference = new RunSeriesRepository(referenceStore, 8);
    const store = openStore();
    const repository = new RunSeriesRepository(store, 8);
    const sink: RunSeriesSink = {
      appendSerialized: (points) => repository.appendSerialized(points),
      wouldThin: (runId, added) => repository.wouldThin(runId, added),
      list: (runId) => repository.list(runId),
    };
    const recorder = new RunSeriesRecorder(sink, createLogger('silent'));
    const runs = Array.from({ length: 12 }, (_, i) => `run-${i}`);
    const endsAt = new Map([
      ['run-3', 9], // its last point is an ended document
      ['run-7', 14], // aborted meanwhile: no longer observed from then on
    ]);
    for (let tick = 0; tick < 40; tick++) {
      for (const [i, runId] of runs.entries()) {
        const end = endsAt.get(runId);
        if (end !== undefined && (tick > end || (runId === 'run-7' && tick === end))) continue;
        // Runs 0-1 get no new evidence on odd ticks: an unchanged point is not recorded.
        const samples = i < 2 ? Math.floor(tick / 2) * 10 : tick * 10 + i;
        const document = documentOf(runId, tick, samples, tick === end ? 'passed' : 'running');
        recorder.observe(document);
        // The reference: what recording every changed point at once stores (the same skip of unchanged ones).
        if (i >= 2 || tick % 2 === 0)
          reference.append([{ runId, point: seriesPoint(document), last: tick === end }]);
      }
      recorder.flush();
      for (const runId of runs) expect(recorder.list(runId)).toEqual(reference.list(runId));
    }
    recorder.flushAll();
    for (const runId of runs) expect(repository.list(runId)).toEqual(reference.list(runId));
    expect(repository.list('run-7').length).toBeGreaterThan(0);
    store.close();
    referenceStore.close();
  });

  it('writes each run a few points at a time, about as many runs in every tick', () => {
    const store = openStore();
    const repository = new RunSeriesRepository(store);
    let written: SerializedSeriesEntry[] = [];
    const sink: RunSeriesSink = {
      appendSerialized: (points) => {
        written.push(...points);
        repository.appendSerialized(points);
      },
      wouldThin: (runId, added) => repository.wouldThin(runId, added),
      list: (runId) => repository.list(runId),
    };
    const recorder = new RunSeriesRecorder(sink, createLogger('silent'));
    const runs = Array.from({ length: 4 * SERIES_POINTS_PER_WRITE }, (_, i) => `run-${i}`);
    const runsWritten: number[] = [];
    const pointsWritten: number[] = [];
    for (let tick = 0; tick < 5 * SERIES_POINTS_PER_WRITE; tick++) {
      written = [];
      for (const [i, runId] of runs.entries()) recorder.observe(documentOf(runId, tick, tick * 10 + i));
      recorder.flush();
      runsWritten.push(new Set(written.map((entry) => entry.runId)).size);
      pointsWritten.push(written.length);
    }
    // From the first tick on, a quarter of the runs (1 in SERIES_POINTS_PER_WRITE) write in each tick; once every
    // run has written once, each writes SERIES_POINTS_PER_WRITE points at a time.
    expect(runsWritten).toEqual(runsWritten.map(() => runs.length / SERIES_POINTS_PER_WRITE));
    expect(pointsWritten.slice(SERIES_POINTS_PER_WRITE)).toEqual(
      pointsWritten.slice(SERIES_POINTS_PER_WRITE).map(() => runs.length),
    );
    recorder.flushAll();
    expect(repository.list('run-0')).toHaveLength(5 * SERIES_POINTS_PER_WRITE);
    store.close();
  });
});
