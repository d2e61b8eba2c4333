// A few trace ids per arm, so a verdict can point at real requests: the latest error spans, and the exemplars
// metric points carried (the spanmetrics connector attaches the trace and span id of sampled spans to its calls
// and duration points). Bounded to MAX_EXEMPLAR_TRACES of each kind, newest last; a merge keeps the newest of
// both, without duplicates. Only error spans are noted from spans, so the hot path adds nothing for the others.

export const MAX_EXEMPLAR_TRACES = 8;

export interface TraceExemplarsSnapshot {
  /** Trace ids of errors: error spans, and exemplars of points that count errors. */
  errors: string[];
  /** Trace ids of other exemplars (points that count no errors). */
  others: string[];
}

function pushBounded(list: string[], traceId: string): void {
  if (traceId === '') return;
  const at = list.indexOf(traceId);
  if (at >= 0) list.splice(at, 1);
  list.push(traceId);
  if (list.length > MAX_EXEMPLAR_TRACES) list.shift();
}

export class TraceExemplars {
  private readonly errorIds: string[] = [];
  private readonly otherIds: string[] = [];

  get size(): number {
    return this.errorIds.length + this.otherIds.length;
  }

  noteError(traceId: string): void {
    pushBounded(this.errorIds, traceId);
  }

  note(traceId: string): void {
    pushBounded(this.otherIds, traceId);
  }

  /** A point's exemplars: error ones when the point counts errors. */
  notePoint(traceIds: readonly string[] | undefined, hasErrors: boolean): void {
    if (!traceIds) return;
    for (const traceId of traceIds) {
      if (hasErrors) this.noteError(traceId);
      else this.note(traceId);
    }
  }

  mergeFrom(other: TraceExemplars): void {
    for (const traceId of other.errorIds) pushBounded(this.errorIds, traceId);
    for (const traceId of other.otherIds) pushBounded(this.otherIds, traceId);
  }

  toSnapshot(): TraceExemplarsSnapshot {
    return { errors: this.errorIds.slice(), others: this.otherIds.slice() };
  }

  static fromSnapshot(snapshot: TraceExemplarsSnapshot | undefined): TraceExemplars {
    const exemplars = new TraceExemplars();
    for (const traceId of snapshot?.errors ?? []) exemplars.noteError(traceId);
    for (const traceId of snapshot?.others ?? []) exemplars.note(traceId);
    return exemplars;
  }
}
