// A few canary traces worth opening for each run (issue 15: the report page links them to a trace UI): the
// slowest canary spans and the latest failing ones, with their trace ids. Bounded (TRACE_EXAMPLES_KEPT of
// each per run) and cheap on the hot path: a span that is neither slower than the tenth slowest nor an
// error costs one comparison. Descriptive only; nothing judges them. Spans without a trace id (metric points,
// a malformed sender) are never examples.
import type { SpanObservation } from './observation.js';

export interface TraceExample {
  traceId: string;
  durationNanos: number;
  /** When the span started, by the sender's clock. */
  timeUnixMs: number;
}

export interface TraceExamplesSnapshot {
  /** Slowest canary spans first. */
  slowest: TraceExample[];
  /** Latest failing canary spans first. */
  failing: TraceExample[];
}

export const TRACE_EXAMPLES_KEPT = 10;

export class TraceExamples {
  private readonly slowest: TraceExample[] = [];
  private readonly failing: TraceExample[] = [];

  note(o: SpanObservation): void {
    if (o.arm === 'canary') this.noteCanarySpan(o.traceId, o.durationNanos, o.isError, o.timeUnixMs);
  }

  /** A judged canary span, given by its fields (SpanRecorder). */
  noteCanarySpan(
    traceId: string | undefined,
    durationNanos: number,
    isError: boolean,
    timeUnixMs: number,
  ): void {
    if (!traceId) return;
    const slowest = this.slowest;
    const kept = slowest.length === TRACE_EXAMPLES_KEPT;
    if (!kept || durationNanos > slowest[slowest.length - 1].durationNanos) {
      const example = { traceId, durationNanos, timeUnixMs };
      let at = slowest.length;
      while (at > 0 && slowest[at - 1].durationNanos < durationNanos) at--;
      slowest.splice(at, 0, example);
      if (slowest.length > TRACE_EXAMPLES_KEPT) slowest.pop();
    }
    if (isError) {
      this.failing.unshift({ traceId, durationNanos, timeUnixMs });
      if (this.failing.length > TRACE_EXAMPLES_KEPT) this.failing.pop();
    }
  }

  toSnapshot(): TraceExamplesSnapshot {
    return { slowest: this.slowest.map((e) => ({ ...e })), failing: this.failing.map((e) => ({ ...e })) };
  }

  static fromSnapshot(snapshot: TraceExamplesSnapshot | undefined): TraceExamples {
    const examples = new TraceExamples();
    if (!snapshot) return examples;
    examples.slowest.push(...snapshot.slowest.slice(0, TRACE_EXAMPLES_KEPT));
    examples.failing.push(...snapshot.failing.slice(0, TRACE_EXAMPLES_KEPT));
    return examples;
  }
}
