// How far behind the event loop runs, for shedding load before it piles up (issue 9, case 8). Under more
// load than one core can take, requests wait in socket buffers before the loop even reads them, and senders
// time out instead of being told to retry; so when the loop is late, admission refuses new requests at once
// with a retry hint, which costs far less than decoding them, until it catches up.
//
// A timer meant to fire every SAMPLE_MS records how late it fired; `lagMs` is an exponentially weighted
// average of those delays, or the time since the timer should last have fired when that is larger (a loop
// busy right now has not run the timer yet). The timer is unref'd.
//
// The timer runs only while someone asks: reading `lagMs` starts it, and it stops itself after IDLE_STOP_MS
// without a reading. An idle sidecar then wakes 50 times a second less (0.5% of a core measured here, about a
// third of its idle CPU); after an idle spell the first readings are 0, which is right for a loop that was idle.

const SAMPLE_MS = 20;
const SMOOTHING = 0.3;
const IDLE_STOP_MS = 2_000;

export class EventLoopLag {
  private timer: NodeJS.Timeout | undefined;
  private enabled = false;
  private expectedAt = 0;
  private average = 0;
  private lastReadAt = 0;

  /** Allows sampling; the timer itself starts at the first reading. */
  start(): void {
    this.enabled = true;
  }

  stop(): void {
    this.enabled = false;
    this.stopTimer();
  }

  /** Milliseconds the loop is running behind, smoothed; 0 when not started or idle until now. */
  get lagMs(): number {
    if (!this.enabled) return 0;
    const now = performance.now();
    this.lastReadAt = now;
    if (!this.timer) {
      this.startTimer(now);
      return 0;
    }
    return Math.max(this.average, now - this.expectedAt);
  }

  /** Whether the sampling timer is running (for tests). */
  get sampling(): boolean {
    return this.timer !== undefined;
  }

  private startTimer(now: number): void {
    this.average = 0;
    this.expectedAt = now + SAMPLE_MS;
    this.timer = setInterval(() => {
      const at = performance.now();
      if (at - this.lastReadAt > IDLE_STOP_MS) return this.stopTimer();
      const late = Math.max(0, at - this.expectedAt);
      this.average = SMOOTHING * late + (1 - SMOOTHING) * this.average;
      this.expectedAt = at + SAMPLE_MS;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
