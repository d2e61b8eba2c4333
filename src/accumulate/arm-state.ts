// One arm of one analysis: its latency histogram and its request and error counts. Requests can exceed the
// histogram's count (count observations carry no latency), so the error rate uses `requests` and the latency
// tests use the histogram's own count.
import { LatencyHistogram, type LatencyHistogramSnapshot } from './latency-histogram.js';

export interface ArmStateSnapshot {
  requests: number;
  errors: number;
  latency: LatencyHistogramSnapshot;
}

export class ArmState {
  requests = 0;
  errors = 0;
  readonly latency: LatencyHistogram;

  constructor(latency: LatencyHistogram = new LatencyHistogram()) {
    this.latency = latency;
  }

  get errorRate(): number {
    return this.requests > 0 ? this.errors / this.requests : NaN;
  }

  mergeFrom(other: ArmState): void {
    this.requests += other.requests;
    this.errors += other.errors;
    this.latency.mergeFrom(other.latency);
  }

  clone(): ArmState {
    return ArmState.fromSnapshot(this.toSnapshot());
  }

  toSnapshot(): ArmStateSnapshot {
    return { requests: this.requests, errors: this.errors, latency: this.latency.toSnapshot() };
  }

  static fromSnapshot(s: ArmStateSnapshot): ArmState {
    const arm = new ArmState(LatencyHistogram.fromSnapshot(s.latency));
    arm.requests = s.requests;
    arm.errors = s.errors;
    return arm;
  }
}
