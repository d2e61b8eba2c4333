// Slow senders cannot hold what others need (issue 9, case 5: 64 uploads at 1 byte/s held every admission
// slot for 60 s). Every request being received (HTTP body, gRPC message) is watched from the moment its
// headers arrive until its last byte, and cut with OTLP_TOO_SLOW (HTTP 503 + Retry-After / gRPC
// DEADLINE_EXCEEDED + RetryInfo, both retryable: the batch is sound, only its delivery stalled), which releases
// its slot and every byte it held, when
// - in any window of `graceMs` it received fewer than minBytesPerSecond x graceMs / 1000 bytes (measured per
//   window, so a sender that bursts and then stalls is caught as surely as one that trickles), or
// - it is not whole within `timeoutMs`, or
// - the budget is under pressure (a request needs a slot or bytes that are taken) and it is the slowest
//   receiving request below the minimum rate, or one stalled for STALL_PREEMPT_MS: then it gives way at
//   once, grace or not (preemptSlowest).
// A gRPC call's message can be whole before the call is: grpc-js runs a unary handler only on the client's
// half-close (END_STREAM), and until then the call keeps its slot and bytes. Once its message is whole
// (ReceiveWatch.whole) a call is no longer judged by rate but must half-close within one window of `graceMs`
// (the time a sender may go without progress; real unary clients send END_STREAM with or right after the
// message), or within `timeoutMs` of its start when the rate rules are off; it can also be preempted as
// stalled. Only the client's half-close is timed: the call says it is done when its stream ends, before any
// wait of ours (zlib inflating a gzip message).
//
// One timer sweeps all watched requests every `sweepMs` while any exist (unref'd, so it never keeps the
// process alive); a sweep or a preemption costs O(requests being received), which admission bounds.
// The timer is armed only when a request is still being received once the loop turn that watched it has
// run (setImmediate): an SDK's export usually arrives whole in the turn its headers arrive, and a Node timer
// armed and cleared within a turn still wakes the event loop when it would have fallen due (Node moves its
// one libuv timer earlier for a new timer, never later for a cleared one), ~3 wake-ups a second at ~10
// requests a second, ~0.3 ms of CPU each (docs/performance-notes.md, footprint).
import { IngestError } from './errors.js';

export interface ReceiveGuardOptions {
  minBytesPerSecond: number;
  /** Seconds a cut sender is told to wait before it retries (otlp.retryAfterSeconds). */
  retryAfterSeconds: number;
  graceMs: number;
  timeoutMs: number;
  sweepMs?: number;
  clock?: () => number;
}

/** A request is judged on its average rate for preemption only after this long. */
export const MIN_RATE_AGE_MS = 100;
/** A receiving request with no byte for this long gives way to one that needs its slot or its bytes. */
export const STALL_PREEMPT_MS = 1000;

interface Watched {
  startedAtMs: number;
  windowStartMs: number;
  windowBytes: number;
  received: number;
  lastByteAtMs: number;
  /** When the message became whole, waiting for the sender's half-close; -1 while it is received. */
  wholeAtMs: number;
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
    this.entry.windowBytes += bytes;
    this.entry.lastByteAtMs = this.guard.now();
  }

  /**
   * The message is whole but the request is not over until the sender half-closes (a gRPC call's END_STREAM):
   * from now on it is judged by how long that takes, not by its rate. done() when it half-closes.
   */
  whole(): void {
    if (this.entry.wholeAtMs < 0) this.entry.wholeAtMs = this.guard.now();
  }

  /** The body is whole (or the request ended): stop watching. Safe to call twice. */
  done(): void {
    this.guard.forget(this.entry);
  }
}

export class ReceiveGuard {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  /** The check, at the end of the current loop turn, whether the sweep timer is needed. */
  private arming: NodeJS.Immediate | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: ReceiveGuardOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Starts watching a request whose headers just arrived; `cut` ends it (and must release what it holds). */
  watch(cut: (error: IngestError) => void): ReceiveWatch {
    const now = this.clock();
    const entry: Watched = {
      startedAtMs: now,
      windowStartMs: now,
      windowBytes: 0,
      received: 0,
      lastByteAtMs: now,
      wholeAtMs: -1,
      cut,
    };
    this.watched.add(entry);
    if (!this.timer && !this.arming) this.arming = setImmediate(this.arm);
    return new ReceiveWatch(this, entry);
  }

  /**
   * Arms the sweep timer. Pending only while a request is still being received and no timer runs: watch()
   * schedules it when none runs, and stop() (which forgetting the last request calls) cancels it.
   */
  private readonly arm = (): void => {
    this.arming = undefined;
    this.timer = setInterval(() => this.sweep(), this.options.sweepMs ?? 250);
    this.timer.unref();
  };

  /** Whether the sweep timer runs (only while requests are being received past the turn that watched them). */
  get sweeping(): boolean {
    return this.timer !== undefined;
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
      let why = '';
      if (entry.wholeAtMs >= 0) {
        why = this.halfCloseOverdue(entry, now);
      } else if (now - entry.startedAtMs > timeoutMs) {
        why = `the body did not arrive within ${timeoutMs} ms (otlp.bodyTimeoutMs)`;
      } else if (now - entry.windowStartMs >= graceMs) {
        const windowMs = now - entry.windowStartMs;
        if (entry.windowBytes < (minBytesPerSecond * windowMs) / 1000) {
          const rate = Math.round((entry.windowBytes * 1000) / windowMs);
          why = `the body arrived at ${rate} bytes/s over ${windowMs} ms, below ${minBytesPerSecond} (otlp.minReceiveBytesPerSecond)`;
        } else {
          entry.windowStartMs = now;
          entry.windowBytes = 0;
        }
      }
      if (why !== '') this.cutEntry(entry, why);
    }
    // Nothing being received: the timer stops until the next request (an idle sidecar wakes for nothing).
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Why a request whose message is whole is cut now for not half-closing, or ''. */
  private halfCloseOverdue(entry: Watched, now: number): string {
    const { minBytesPerSecond, graceMs, timeoutMs } = this.options;
    const waitedMs = now - entry.wholeAtMs;
    if (minBytesPerSecond > 0 && waitedMs >= graceMs) {
      return `its message arrived whole but the sender did not half-close (END_STREAM) within ${graceMs} ms (otlp.receiveGraceMs)`;
    }
    if (now - entry.startedAtMs > timeoutMs) {
      return `its message arrived whole but the sender did not half-close (END_STREAM) within ${timeoutMs} ms of its start (otlp.bodyTimeoutMs)`;
    }
    return '';
  }

  /**
   * Cuts one receiving request that holds a slot (it has sent bytes) and sends too slowly: the one with the
   * lowest average rate below minBytesPerSecond (after MIN_RATE_AGE_MS, so a request that just began is
   * not judged on its first packet), or else the one that has gone longest without a byte, if that is at
   * least STALL_PREEMPT_MS (a sender that burst and stalled keeps a high average). Returns whether one was
   * cut. Admission calls it when a slot or bytes are short; a fast sender delayed by our own busy event
   * loop keeps its high average and is not chosen.
   */
  preemptSlowest(): boolean {
    // A minimum rate of 0 turns the slow-sender rules off: nothing is preempted either.
    if (this.options.minBytesPerSecond <= 0) return false;
    const now = this.clock();
    let slowest: Watched | undefined;
    let slowestRate = Infinity;
    let stalled: Watched | undefined;
    for (const entry of this.watched) {
      if (entry.received === 0) continue;
      const elapsedMs = now - entry.startedAtMs;
      const rate = (entry.received * 1000) / Math.max(1, elapsedMs);
      // A whole message waiting for its half-close has no rate to judge; it can give way as stalled.
      if (
        entry.wholeAtMs < 0 &&
        elapsedMs >= MIN_RATE_AGE_MS &&
        rate < this.options.minBytesPerSecond &&
        rate < slowestRate
      ) {
        slowest = entry;
        slowestRate = rate;
      }
      if (
        now - entry.lastByteAtMs >= STALL_PREEMPT_MS &&
        (!stalled || entry.lastByteAtMs < stalled.lastByteAtMs)
      )
        stalled = entry;
    }
    const victim = slowest ?? stalled;
    if (!victim) return false;
    this.cutEntry(
      victim,
      victim === slowest
        ? `it sends at ${Math.round(slowestRate)} bytes/s, below ${this.options.minBytesPerSecond}, while others wait for its share`
        : victim.wholeAtMs >= 0
          ? `its message arrived whole but the sender has not half-closed (END_STREAM) for ${now - victim.wholeAtMs} ms while others wait for its share`
          : `no byte for ${now - victim.lastByteAtMs} ms while others wait for its share`,
    );
    return true;
  }

  /** Stops the sweeper; watched requests stay as they are. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.arming) clearImmediate(this.arming);
    this.arming = undefined;
  }

  /** @internal */
  now(): number {
    return this.clock();
  }

  /** @internal */
  forget(entry: Watched): void {
    this.watched.delete(entry);
    if (this.watched.size === 0) this.stop();
  }

  private cutEntry(entry: Watched, why: string): void {
    this.forget(entry);
    entry.cut(new IngestError('OTLP_TOO_SLOW', `${why}; retry later`, this.options.retryAfterSeconds));
  }
}
