// Admission control shared by both transports: a bounded count of export requests being read or decoded.
// Past the bound a request is refused at once with a retry hint instead of queueing without limit, so
// memory stays bounded under any load (the OTel exporters back off and retry).
import type { Gauge } from 'prom-client';

export class Admission {
  private inFlight = 0;
  private closing = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly gauge?: Gauge,
  ) {}

  /** Takes a slot; false when full or shutting down. Every true must be paired with one release(). */
  tryAcquire(): boolean {
    if (this.closing || this.inFlight >= this.maxInFlight) return false;
    this.inFlight += 1;
    this.gauge?.set(this.inFlight);
    return true;
  }

  release(): void {
    this.inFlight -= 1;
    this.gauge?.set(this.inFlight);
    if (this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  get current(): number {
    return this.inFlight;
  }

  /** Refuses new requests from now on and resolves when every admitted one has been answered. */
  close(): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
