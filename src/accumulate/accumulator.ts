// Per analysis x arm state, fed by attribution (ObservationSink) and read by the judge on its timer. Memory
// is one pair of bounded ArmStates per analysis; `reset` or `remove` ends an analysis's state.
import type { Arm, Observation, ObservationSink } from '../attribution/observation.js';
import { ArmState, type ArmStateSnapshot } from './arm-state.js';
import { LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.js';

export interface AnalysisArms {
  baseline: ArmState;
  canary: ArmState;
}

export interface AnalysisArmsSnapshot {
  baseline: ArmStateSnapshot;
  canary: ArmStateSnapshot;
}

export class Accumulator implements ObservationSink {
  private readonly analyses = new Map<string, AnalysisArms>();

  constructor(private readonly histogramOptions: LatencyHistogramOptions = {}) {}

  accept(observations: Observation[]): void {
    for (const o of observations) {
      const arm = this.arm(o.analysisId, o.arm);
      switch (o.kind) {
        case 'span':
          arm.recordSpan(o.durationNanos, o.isError);
          break;
        case 'histogram':
          arm.recordHistogram(o);
          break;
        case 'count':
          arm.recordCounts(o.requests, o.errors);
          break;
      }
    }
  }

  analysisIds(): string[] {
    return [...this.analyses.keys()];
  }

  /** Copies of the analysis's two arms (empty arms when nothing arrived yet); callers cannot disturb the live state. */
  read(analysisId: string): AnalysisArms {
    const live = this.analyses.get(analysisId);
    return live
      ? { baseline: live.baseline.clone(), canary: live.canary.clone() }
      : { baseline: this.newArm(), canary: this.newArm() };
  }

  snapshot(analysisId: string): AnalysisArmsSnapshot {
    const arms = this.read(analysisId);
    return { baseline: arms.baseline.toSnapshot(), canary: arms.canary.toSnapshot() };
  }

  /** Replaces the analysis's state with a snapshot (after a restart). */
  restore(analysisId: string, snapshot: AnalysisArmsSnapshot): void {
    this.analyses.set(analysisId, {
      baseline: ArmState.fromSnapshot(snapshot.baseline),
      canary: ArmState.fromSnapshot(snapshot.canary),
    });
  }

  /** Adds another instance's state for the same analysis (exact; see LatencyHistogram.mergeFrom). */
  mergeSnapshot(analysisId: string, snapshot: AnalysisArmsSnapshot): void {
    this.arm(analysisId, 'baseline').mergeFrom(ArmState.fromSnapshot(snapshot.baseline));
    this.arm(analysisId, 'canary').mergeFrom(ArmState.fromSnapshot(snapshot.canary));
  }

  reset(analysisId: string): void {
    this.analyses.set(analysisId, { baseline: this.newArm(), canary: this.newArm() });
  }

  remove(analysisId: string): void {
    this.analyses.delete(analysisId);
  }

  private arm(analysisId: string, arm: Arm): ArmState {
    let arms = this.analyses.get(analysisId);
    if (!arms) {
      arms = { baseline: this.newArm(), canary: this.newArm() };
      this.analyses.set(analysisId, arms);
    }
    return arms[arm];
  }

  private newArm(): ArmState {
    return new ArmState(new LatencyHistogram(this.histogramOptions));
  }
}
