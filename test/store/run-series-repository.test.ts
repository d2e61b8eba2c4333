// The report page's chart history (issue 15): each run's points in SQLite, oldest first, bounded per run by
// thinning (the first and the newest point always stay, so the chart keeps the run's whole span), kept across
// a restart, and deleted with the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/database.js';
import { RunSeriesRepository, type SeriesPoint } from '../../src/store/run-series-repository.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-series-'));
  dirs.push(dir);
  return join(dir, 'state.sqlite');
}

const T0 = Date.parse('2026-12-01T10:00:00Z');

function point(i: number): SeriesPoint {
  return {
    atMs: T0 + i * 5000,
    stage: 1,
    verdict: 'running',
    samples: { baseline: 100 * i, canary: 10 * i },
    split: { expected: 0.1, observed: null, alphaAlwaysValid: 1 } as unknown as SeriesPoint['split'],
    metrics: [
      {
        id: 'latency_p95',
        estimate: 1 + i / 100,
        lower: i === 0 ? null : 0.9,
        lowerLevel: 0.995,
        upper: null,
        decision: 'running',
        worsePValue: 1,
        withinPValue: 1,
        samples: { baseline: 100 * i, canary: 10 * i },
      },
    ],
  };
}

describe('run series repository', () => {
  it('keeps each run within its bound, first and newest point always, oldest first, runs apart', () => {
    const store = Store.open(tempPath());
    try {
      const series = new RunSeriesRepository(store, 8);
      for (let i = 0; i < 40; i++) {
        series.append([
          { runId: 'run-a', point: point(i) },
          ...(i < 3 ? [{ runId: 'run-b', point: point(i) }] : []),
        ]);
        const a = series.list('run-a');
        expect(a.length).toBeLessThanOrEqual(8);
        expect(a[0].atMs).toBe(T0);
        expect(a[a.length - 1].atMs).toBe(point(i).atMs);
      }
      const a = series.list('run-a');
      expect(a.map((p) => p.atMs)).toEqual([...a.map((p) => p.atMs)].sort((x, y) => x - y));
      // Each thinning halves what is stored, so older stretches get coarser; the newest stays tick by tick.
      expect(a.map((p) => (p.atMs - T0) / 5000)).toEqual([0, 28, 32, 34, 36, 37, 38, 39]);
      expect(series.list('run-b')).toEqual([point(0), point(1), point(2)]);
    } finally {
      store.close();
    }
  });

  it('survives a restart, and goes with its run', () => {
    const path = tempPath();
    let store = Store.open(path);
    new RunSeriesRepository(store).append([{ runId: 'run-a', point: point(1) }]);
    new RunSeriesRepository(store).append([{ runId: 'run-a', point: point(2) }]);
    store.close();
    store = Store.open(path);
    try {
      const series = new RunSeriesRepository(store);
      expect(series.list('run-a')).toEqual([point(1), point(2)]);
      series.deleteRun('run-a');
      expect(series.list('run-a')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('refuses a bound too small to keep a first, a newest and anything between', () => {
    const store = Store.open(tempPath());
    try {
      expect(() => new RunSeriesRepository(store, 3)).toThrow(/at least 4/);
    } finally {
      store.close();
    }
  });
});
