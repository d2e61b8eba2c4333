// How far behind the event loop runs, for shedding load before it piles up (issue 9, case 8). Under more
// load than one core can take, requests wait in socket buffers before the loop even reads them, and senders
// time out instead of being told to retry; so when the loop is late, admission refuses new requests at once
// with a retry hint, which costs far less than decoding them, until it catches up.
//
// A timer meant to fire every SAMPLE_MS records how late it fired; `lagMs` is an exponentially weighted
// average of those delays, or the time since the timer should last have fired when that is larger (a loop
// busy right now has not run the timer yet). The timer is unref'd.

const SAMPLE_MS = 20;
const SMOOTHING = 0.3;

export class EventLoopLag {
  private timer: NodeJS.Timeout | undefined;
  private expectedAt = 0;
  private average = 0;

  start(): void {
    if (this.timer) return;
    this.expectedAt = performance.now() + SAMPLE_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = Math.max(0, now - this.expectedAt);
      this.average = SMOOTHING * late + (1 - SMOOTHING) * this.average;
      this.expectedAt = now + SAMPLE_MS;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Milliseconds the loop is running behind, smoothed; 0 when not started. */
  get lagMs(): number {
    if (!this.timer) return 0;
    return Math.max(this.average, performance.now() - this.expectedAt);
  }
}
