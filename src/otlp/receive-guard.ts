// Slow senders cannot hold what they have not paid for (issue 9, case 5: 64 uploads at 1 byte/s held every
// admission slot for 60 s). Every request being received (HTTP body, gRPC message) is watched from the
// moment its headers arrive until its last byte: past `graceMs` it must average at least
// `minBytesPerSecond`, and it must be whole within `timeoutMs`, or it is cut with OTLP_TOO_SLOW (HTTP 408 /
// gRPC DEADLINE_EXCEEDED), which releases its connection slot and every byte it held.
//
// One timer sweeps all watched requests every `sweepMs` while any exist (unref'd, so it never keeps the
// process alive); a sweep costs O(requests being received), which admission bounds.
import { IngestError } from './errors.js';

export interface ReceiveGuardOptions {
  minBytesPerSecond: number;
  graceMs: number;
  timeoutMs: number;
  sweepMs?: number;
  clock?: () => number;
}

interface Watched {
  startedAtMs: number;
  received: number;
  cut: (error: IngestError) => void;
}

export class ReceiveWatch {
  constructor(
    private readonly guard: ReceiveGuard,
    private readonly entry: Watched,
  ) {}

  /** Counts bytes that arrived. */
  progress(bytes: number): void {
    this.entry.received += bytes;
  }

  /** The body is whole (or the request ended): stop watching. Safe to call twice. */
  done(): void {
    this.guard.forget(this.entry);
  }
}

export class ReceiveGuard {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: ReceiveGuardOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Starts watching a request whose headers just arrived; `cut` ends it when it is too slow. */
  watch(cut: (error: IngestError) => void): ReceiveWatch {
    const entry: Watched = { startedAtMs: this.clock(), received: 0, cut };
    this.watched.add(entry);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.options.sweepMs ?? 250);
      this.timer.unref();
    }
    return new ReceiveWatch(this, entry);
  }

  /** Requests being received now. */
  get size(): number {
    return this.watched.size;
  }

  /** Checks every watched request once; exposed for tests with a fake clock. */
  sweep(): void {
    const now = this.clock();
    const { minBytesPerSecond, graceMs, timeoutMs } = this.options;
    for (const entry of [...this.watched]) {
      const elapsedMs = now - entry.startedAtMs;
      let why = '';
      if (elapsedMs > timeoutMs) why = `the body did not arrive within ${timeoutMs} ms (otlp.bodyTimeoutMs)`;
      else if (elapsedMs > graceMs && entry.received < (minBytesPerSecond * elapsedMs) / 1000) {
        why = `the body arrives at ${Math.round((entry.received * 1000) / elapsedMs)} bytes/s, below ${minBytesPerSecond} (otlp.minReceiveBytesPerSecond)`;
      }
      if (why === '') continue;
      this.forget(entry);
      entry.cut(new IngestError('OTLP_TOO_SLOW', why));
    }
  }

  /** Stops the sweeper; watched requests stay as they are. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** @internal */
  forget(entry: Watched): void {
    this.watched.delete(entry);
    if (this.watched.size === 0) this.stop();
  }
}
