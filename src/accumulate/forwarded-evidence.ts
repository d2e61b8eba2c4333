// One run's evidence forwarded by the instances of a fleet (ARCHITECTURE.md, Scaling past one machine): each
// forwarding instance sends its per stage x arm state as cumulative OTLP points (src/fleet/), and this module
// keeps, per forwarder and per stream (stage, arm, field), the latest point; the run's evidence is its own plus
// the sum over forwarders. Why it is exact: every field is a cumulative total whose sum over forwarders is what
// one instance fed all their spans would hold (counts add; exponential histograms merge bucket for bucket,
// LatencyHistogram.mergeFrom; interval-censored latencies union per nominal bucket, CoarseLatency).
//
// - Cumulative with a start time: a retried or duplicated export carries the same values and time, so applying
//   it again changes nothing; a point older than the stream's selected one is ignored (counted `out_of_order`).
//   A forwarder that restarts sends a later start time: its previous life's newest values are folded into
//   `retired` (they are real evidence and will never grow) and it starts again from zero. Points of an earlier
//   life arriving late are ignored (`stale`).
// - Time alignment: a point's time is the forwarder's watermark (all its evidence up to then is in the point).
//   A point waits until every forwarder has reached its time (`select`, called with the run's watermark
//   reached time), so a tick never adds one forwarder's newer evidence before the others' (with forwarders
//   beside pods each holds one arm, and the split test would see one arm run ahead). A forwarder silent for the
//   idle limit no longer holds the others back: its newest points are taken.
// - Bounds: at most MAX_PENDING points wait per stream (beyond, the oldest is taken at once, counted
//   `forced`); sources per run are bounded by the caller (RunEvidence) through the watermark's maxSources.
import { ArmState, type ArmStateSnapshot } from './arm-state.js';
import { CoarseLatency } from './coarse-latency.js';
import { LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.js';
import type { Arm } from './observation.js';
import type { ExponentialBuckets } from '../otlp/model.js';

/** Points waiting for the other forwarders, per stream. */
export const MAX_PENDING = 16;

/** A cumulative latency histogram at the forwarder's scale, with the exact sum of its values (ns). */
export interface ForwardedLatency {
  buckets: ExponentialBuckets;
  sumNanos: number;
}

/** One interval-censored bucket: its nominal edges (the key) and the effective edges its values lie in. */
export interface ForwardedInterval {
  nominalLowerNanos: number;
  nominalUpperNanos: number;
  lowerNanos: number;
  upperNanos: number;
  count: number;
}

export type ForwardedValue =
  | { field: 'requests' | 'errors' | 'splitRequests' | 'latencyValuesWithoutSum'; value: number }
  | { field: 'latency'; latency: ForwardedLatency }
  | { field: 'coarseLatency'; interval: ForwardedInterval };

/** One decoded fleet point: a cumulative value of one field of one stage x arm of a run, from one forwarder. */
export interface ForwardedPoint {
  runId: string;
  forwarderId: string;
  /** When the forwarder began this run's cumulative state (its life); later = it restarted. */
  startTimeMs: number;
  /** The forwarder's watermark: its evidence up to here is in the value. */
  timeMs: number;
  /** 1 for the run's first stage. */
  stage: number;
  arm: Arm;
  value: ForwardedValue;
}

export type ForwardedOutcome = 'accepted' | 'duplicate' | 'out_of_order' | 'stale' | 'forced';

interface Timed {
  timeMs: number;
  value: ForwardedValue;
}

interface Stream {
  stage: number;
  arm: Arm;
  selected?: Timed;
  /** Newer than `selected`, ascending by time. */
  pending: Timed[];
}

interface Source {
  startTimeMs: number;
  streams: Map<string, Stream>;
  /** Materialized stage x arm states, dropped when one of their streams changes. */
  cache: Map<string, { arm: ArmState; split: number }>;
}

/** JSON form: each forwarder's selected values (points still waiting are sent again: they are cumulative). */
export interface ForwardedEvidenceSnapshot {
  sources: Array<{
    forwarderId: string;
    startTimeMs: number;
    /** `value` with infinite interval edges as null (JSON has no Infinity). */
    streams: Array<{ stage: number; arm: Arm; timeMs: number; value: unknown }>;
  }>;
  retired: Array<{ stage: number; arm: Arm; state: ArmStateSnapshot; split: number }>;
}

function toJson(value: ForwardedValue): unknown {
  if (value.field !== 'coarseLatency') return value;
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  const i = value.interval;
  return {
    field: value.field,
    interval: { ...i, nominalUpperNanos: finite(i.nominalUpperNanos), upperNanos: finite(i.upperNanos) },
  };
}

function fromJson(json: unknown): ForwardedValue {
  const value = json as ForwardedValue;
  if (value.field !== 'coarseLatency') return value;
  const infinite = (x: number | null) => (x === null ? Infinity : x);
  const i = value.interval as Omit<ForwardedInterval, 'nominalUpperNanos' | 'upperNanos'> & {
    nominalUpperNanos: number | null;
    upperNanos: number | null;
  };
  return {
    field: value.field,
    interval: { ...i, nominalUpperNanos: infinite(i.nominalUpperNanos), upperNanos: infinite(i.upperNanos) },
  };
}

function streamKey(point: { stage: number; arm: Arm; value: ForwardedValue }): string {
  const { value } = point;
  const detail =
    value.field === 'coarseLatency'
      ? `${value.interval.nominalLowerNanos}|${value.interval.nominalUpperNanos}`
      : '';
  return `${point.stage}|${point.arm}|${value.field}|${detail}`;
}

const stageArmKey = (stage: number, arm: Arm): string => `${stage}|${arm}`;

export class ForwardedEvidence {
  private readonly sources = new Map<string, Source>();
  /** Final states of forwarders' earlier lives, by stage x arm. */
  private readonly retired = new Map<string, { stage: number; arm: Arm; state: ArmState; split: number }>();

  constructor(private readonly histogramOptions: LatencyHistogramOptions = {}) {}

  get sourceCount(): number {
    return this.sources.size;
  }

  get isEmpty(): boolean {
    return this.sources.size === 0 && this.retired.size === 0;
  }

  has(forwarderId: string): boolean {
    return this.sources.has(forwarderId);
  }

  accept(point: ForwardedPoint): ForwardedOutcome {
    let source = this.sources.get(point.forwarderId);
    if (source && point.startTimeMs < source.startTimeMs) return 'stale';
    if (source && point.startTimeMs > source.startTimeMs) {
      this.retire(source);
      source = undefined;
    }
    if (!source) {
      source = { startTimeMs: point.startTimeMs, streams: new Map(), cache: new Map() };
      this.sources.set(point.forwarderId, source);
    }
    const key = streamKey(point);
    let stream = source.streams.get(key);
    if (!stream) source.streams.set(key, (stream = { stage: point.stage, arm: point.arm, pending: [] }));
    const timed = { timeMs: point.timeMs, value: point.value };
    if (stream.selected && point.timeMs <= stream.selected.timeMs) {
      if (point.timeMs < stream.selected.timeMs) return 'out_of_order';
      stream.selected = timed; // the same export again (a retry): the same cumulative value
      source.cache.delete(stageArmKey(stream.stage, stream.arm));
      return 'duplicate';
    }
    const at = stream.pending.findIndex((p) => p.timeMs >= point.timeMs);
    if (at >= 0 && stream.pending[at].timeMs === point.timeMs) {
      stream.pending[at] = timed;
      return 'duplicate';
    }
    stream.pending.splice(at < 0 ? stream.pending.length : at, 0, timed);
    if (stream.pending.length <= MAX_PENDING) return 'accepted';
    stream.selected = stream.pending.shift();
    source.cache.delete(stageArmKey(stream.stage, stream.arm));
    return 'forced';
  }

  /**
   * Takes, per stream, the newest waiting point at or before `reachedMs` (every forwarder's evidence is complete
   * up to there); a forwarder `isIdle` says is gone has its newest points taken whatever their time.
   */
  select(reachedMs: number, isIdle: (forwarderId: string) => boolean): void {
    for (const [forwarderId, source] of this.sources) {
      const idle = isIdle(forwarderId);
      for (const stream of source.streams.values()) {
        let take = -1;
        for (let i = 0; i < stream.pending.length; i++)
          if (idle || stream.pending[i].timeMs <= reachedMs) take = i;
        if (take < 0) continue;
        stream.selected = stream.pending[take];
        stream.pending.splice(0, take + 1);
        source.cache.delete(stageArmKey(stream.stage, stream.arm));
      }
    }
  }

  /** Adds every forwarder's selected state and the retired states to `stages` (index = stage number - 1). */
  mergeInto(
    stages: ReadonlyArray<{ baseline: ArmState; canary: ArmState; settled: Record<Arm, number> }>,
  ): void {
    if (stages.length === 0) return;
    const add = (stage: number, arm: Arm, state: ArmState, split: number) => {
      // A stage the judge does not know (yet) joins the latest one it does.
      const target = stages[Math.min(Math.max(stage, 1), stages.length) - 1];
      target[arm].mergeFrom(state);
      target.settled[arm] += split;
    };
    for (const { stage, arm, state, split } of this.retired.values()) add(stage, arm, state, split);
    for (const source of this.sources.values()) {
      for (const [key, { stage, arm }] of this.stageArms(source)) {
        let built = source.cache.get(key);
        if (!built) source.cache.set(key, (built = this.materialize(source, stage, arm, false)));
        add(stage, arm, built.arm, built.split);
      }
    }
  }

  toSnapshot(): ForwardedEvidenceSnapshot {
    return {
      sources: [...this.sources].map(([forwarderId, source]) => ({
        forwarderId,
        startTimeMs: source.startTimeMs,
        streams: [...source.streams.values()].flatMap(({ stage, arm, selected }) =>
          selected ? [{ stage, arm, timeMs: selected.timeMs, value: toJson(selected.value) }] : [],
        ),
      })),
      retired: [...this.retired.values()].map(({ stage, arm, state, split }) => ({
        stage,
        arm,
        state: state.toSnapshot(),
        split,
      })),
    };
  }

  static fromSnapshot(
    snapshot: ForwardedEvidenceSnapshot,
    histogramOptions: LatencyHistogramOptions = {},
  ): ForwardedEvidence {
    const evidence = new ForwardedEvidence(histogramOptions);
    for (const { stage, arm, state, split } of snapshot.retired) {
      evidence.retired.set(stageArmKey(stage, arm), {
        stage,
        arm,
        state: ArmState.fromSnapshot(state),
        split,
      });
    }
    for (const source of snapshot.sources) {
      for (const { stage, arm, timeMs, value } of source.streams) {
        const { forwarderId, startTimeMs } = source;
        evidence.accept({ runId: '', forwarderId, startTimeMs, stage, arm, timeMs, value: fromJson(value) });
      }
    }
    evidence.select(Infinity, () => true);
    return evidence;
  }

  /** Folds a forwarder's previous life (its newest values, waiting or not) into `retired`. */
  private retire(source: Source): void {
    for (const { stage, arm } of this.stageArms(source).values()) {
      const { arm: state, split } = this.materialize(source, stage, arm, true);
      const key = stageArmKey(stage, arm);
      const into = this.retired.get(key);
      if (into) {
        into.state.mergeFrom(state);
        into.split += split;
      } else this.retired.set(key, { stage, arm, state, split });
    }
  }

  private stageArms(source: Source): Map<string, { stage: number; arm: Arm }> {
    const found = new Map<string, { stage: number; arm: Arm }>();
    for (const { stage, arm } of source.streams.values()) found.set(stageArmKey(stage, arm), { stage, arm });
    return found;
  }

  /** One stage x arm of a forwarder as an ArmState, from its selected values (or its newest, `newest`). */
  private materialize(
    source: Source,
    stage: number,
    arm: Arm,
    newest: boolean,
  ): { arm: ArmState; split: number } {
    const state = new ArmState(new LatencyHistogram(this.histogramOptions), new CoarseLatency());
    let split = 0;
    for (const stream of source.streams.values()) {
      if (stream.stage !== stage || stream.arm !== arm) continue;
      const timed = newest ? (stream.pending.at(-1) ?? stream.selected) : stream.selected;
      if (!timed) continue;
      const { value } = timed;
      switch (value.field) {
        case 'requests':
          state.requests = value.value;
          break;
        case 'errors':
          state.errors = value.value;
          break;
        case 'latencyValuesWithoutSum':
          state.latencyValuesWithoutSum = value.value;
          break;
        case 'splitRequests':
          split = value.value;
          break;
        case 'latency': {
          const { buckets, sumNanos } = value.latency;
          state.latency.recordZeros(buckets.zeroCount, buckets.zeroThreshold);
          buckets.positive.bucketCounts.forEach((count, i) =>
            state.latency.recordBucket(buckets.positive.offset + i, buckets.scale, count),
          );
          state.latencySumNanos = sumNanos;
          break;
        }
        case 'coarseLatency': {
          const i = value.interval;
          state.coarseLatency.record(
            i.nominalLowerNanos,
            i.nominalUpperNanos,
            i.count,
            i.lowerNanos,
            i.upperNanos,
          );
          break;
        }
      }
    }
    return { arm: state, split };
  }
}
