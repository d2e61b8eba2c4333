// How far behind the event loop runs: one sampler for both admission (shedding load before it piles up, issue 9
// case 8) and the `canary_judge_process_nodejs_eventloop_lag_*` series on /metrics.
//
// Under more load than one core can take, requests wait in socket buffers before the loop even reads them, and
// senders time out instead of being told to retry; so when the loop is late, admission refuses new requests at
// once with a retry hint, which costs far less than decoding them, until it catches up.
//
// A timer records how late it fired. `lagMs` (admission) is an exponentially weighted average of those delays,
// or the time since the timer was due when that is larger (a loop busy right now has not run the timer yet).
// The series are the delays' min, max, mean, standard deviation and percentiles since the last scrape: how late
// a timer due at any moment ran, 0 on a free loop.
//
// Why not prom-client's own histogram (perf_hooks.monitorEventLoopDelay): its timer fires every 10 ms whatever
// the sidecar does, ~100 wake-ups a second, measured at ~0.9% of a core on an idle 2-core VM (most of an idle
// sidecar's CPU; docs/performance-notes.md, footprint), and beside it admission ran a sampler of its own at 20
// ms. Each wake-up costs the process a scheduling round trip whether or not anything waits, so the one timer
// here samples only as often as a lag can build up:
// - every `resolutionMs` (20 ms) while export requests arrive (each admission reads `lagMs`) and the loop was
//   busy at least half the time since the last sample (event-loop utilization, which perf_hooks keeps without
//   a timer), or the last sample was late: a loop behind its work, whose lag admission must see at once;
// - every QUIET_SAMPLE_MS (1 s) while requests arrive to a loop mostly free (a sidecar beside a service at
//   a few thousand spans a second is ~5% busy): a lag cannot build up there without the loop turning busy,
//   and each reading checks that (utilization since the previous reading or sample) and samples every
//   `resolutionMs` from then on; a pending sample found overdue fires next and does the same if it was late.
//   Sampled every 100 ms, such a loop woke ~8 more times a second at 5k spans/s (~27 wake-ups a second
//   against ~18: requests come ~10 times a second, at other moments), for ~0.2-0.3% of a core more
//   (docs/performance-notes.md, footprint);
// - every second IDLE_STOP_MS after the last reading: an idle loop delays no request, and a stall there (a long
//   judge tick) still shows in the series.
// A stall shorter than the interval shows only if a sample falls due during it. The samples are how late the
// timer fired, not the interval between firings as prom-client's are (which read the resolution on a free
// loop), so samples at different intervals share one scale.
import {
  createHistogram,
  performance,
  type EventLoopUtilization,
  type RecordableHistogram,
} from 'node:perf_hooks';

/** Sampling interval while requests arrive (config api.eventLoopLagResolutionMs). */
export const DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS = 20;
/** Sampling interval while requests arrive to a loop mostly free (each reading checks for a busy loop). */
const QUIET_SAMPLE_MS = 1_000;
/** Event-loop utilization since the last sample from which the loop counts as busy. */
const BUSY_UTILIZATION = 0.5;
/** Sampling interval of an idle sidecar: a stall still shows within about a second. */
const IDLE_SAMPLE_MS = 1_000;
const SMOOTHING = 0.3;
const IDLE_STOP_MS = 2_000;
const NS_PER_MS = 1e6;

/** The delays recorded since the last `takeDelays()`, in milliseconds. */
export interface LoopDelays {
  count: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  stddevMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export class EventLoopLag {
  private timer: NodeJS.Timeout | undefined;
  private fast = false;
  private expectedAt = 0;
  private average = 0;
  private lastReadAt = -Infinity;
  private utilization: EventLoopUtilization = performance.eventLoopUtilization();
  /** Event-loop utilization at the last reading, for the busy check between quiet samples. */
  private readUtilization: EventLoopUtilization = this.utilization;
  private interval = IDLE_SAMPLE_MS;
  // HDR histogram of delays in ns (perf_hooks, as prom-client's): records only values >= 1.
  private readonly delays: RecordableHistogram = createHistogram();

  constructor(private readonly resolutionMs = DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS) {}

  /** Starts sampling, once a second until the first reading. */
  start(): void {
    if (this.timer) return;
    this.schedule(performance.now(), IDLE_SAMPLE_MS);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fast = false;
  }

  /** Milliseconds the loop is running behind, smoothed; 0 when not started or idle until now. */
  get lagMs(): number {
    if (!this.timer) return 0;
    const now = performance.now();
    this.lastReadAt = now;
    const overdue = Math.max(0, now - this.expectedAt);
    if (!this.fast) {
      // First reading after an idle spell: what the idle samples saw is no one's wait; sample finely from now.
      this.fast = true;
      this.average = 0;
      this.readUtilization = performance.eventLoopUtilization();
      clearTimeout(this.timer);
      this.schedule(now, this.resolutionMs);
      return overdue;
    }
    if (this.interval > this.resolutionMs) this.checkQuiet(now, overdue);
    return Math.max(this.average, overdue);
  }

  /**
   * Between quiet samples: a loop busy at least half the time since the previous reading or sample is
   * sampled every `resolutionMs` from here, as a busy sample would make it. A pending sample already due
   * is left to fire: it records how late the loop is and then samples at `resolutionMs` itself.
   */
  private checkQuiet(now: number, overdue: number): void {
    const utilization = performance.eventLoopUtilization();
    const busyShare = performance.eventLoopUtilization(utilization, this.readUtilization).utilization;
    this.readUtilization = utilization;
    if (busyShare < BUSY_UTILIZATION || overdue > 0) return;
    clearTimeout(this.timer);
    this.schedule(now, this.resolutionMs);
  }

  /** Whether requests read the lag (in the last 2 s): sampled at 20 ms, or checked at each reading (for tests). */
  get sampling(): boolean {
    return this.fast;
  }

  /** The interval of the pending sample (for tests). */
  get intervalMs(): number {
    return this.interval;
  }

  /**
   * The delays since the last call, and a fresh start. With no sample in between (the loop held the whole
   * time, or calls less than a sample apart) every figure is how long the pending sample has been due.
   */
  takeDelays(): LoopDelays {
    const h = this.delays;
    const count = h.count;
    if (count === 0) {
      const dueMs = this.timer ? Math.max(0, performance.now() - this.expectedAt) : 0;
      return {
        count,
        minMs: dueMs,
        maxMs: dueMs,
        meanMs: dueMs,
        stddevMs: 0,
        p50Ms: dueMs,
        p90Ms: dueMs,
        p99Ms: dueMs,
      };
    }
    const delays = {
      count,
      minMs: h.min / NS_PER_MS,
      maxMs: h.max / NS_PER_MS,
      meanMs: h.mean / NS_PER_MS,
      stddevMs: h.stddev / NS_PER_MS,
      p50Ms: h.percentile(50) / NS_PER_MS,
      p90Ms: h.percentile(90) / NS_PER_MS,
      p99Ms: h.percentile(99) / NS_PER_MS,
    };
    h.reset();
    return delays;
  }

  private schedule(now: number, intervalMs: number): void {
    this.interval = intervalMs;
    this.expectedAt = now + intervalMs;
    this.timer = setTimeout(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const at = performance.now();
    const late = Math.max(0, at - this.expectedAt);
    this.delays.record(Math.max(1, Math.round(late * NS_PER_MS)));
    const utilization = performance.eventLoopUtilization();
    const busyShare = performance.eventLoopUtilization(utilization, this.utilization).utilization;
    this.utilization = utilization;
    this.readUtilization = utilization;
    if (this.fast) {
      this.average = SMOOTHING * late + (1 - SMOOTHING) * this.average;
      if (at - this.lastReadAt > IDLE_STOP_MS) this.fast = false;
    }
    const busy = busyShare >= BUSY_UTILIZATION || late >= this.resolutionMs;
    const next = !this.fast
      ? IDLE_SAMPLE_MS
      : busy
        ? this.resolutionMs
        : Math.max(this.resolutionMs, QUIET_SAMPLE_MS);
    this.schedule(at, next);
  }
}
