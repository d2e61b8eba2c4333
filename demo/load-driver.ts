// Open-loop load: requests are sent at a fixed rate whatever the shop's latency (as real users arrive),
// each from a random user of a large population so the flag's percentage buckets fill as configured.
// It counts answers by the flow that served them, which is how the demo measures exposure to the bad
// variant; canary-judge gets none of this, it only sees the telemetry.
import { httpCall, keepAliveAgent } from './http-call.js';

export interface FlowCounts {
  requests: number;
  errors: number;
}

export interface TrafficCounts {
  classic: FlowCounts;
  newFlow: FlowCounts;
  /** Requests that never got an answer (connection errors, timeouts). */
  failedCalls: number;
}

const PACE_MS = 10;
/** Beyond this many unanswered requests the driver skips sends rather than pile up sockets. */
const MAX_IN_FLIGHT = 2_000;
const USERS = 1_000_000;

export class LoadDriver {
  readonly counts: TrafficCounts = {
    classic: { requests: 0, errors: 0 },
    newFlow: { requests: 0, errors: 0 },
    failedCalls: 0,
  };
  private readonly agent = keepAliveAgent();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private sent = 0;
  private startedAtMs = 0;
  private exposureFromMs: number | undefined;
  private exposed = 0;

  constructor(
    private readonly frontendUrl: string,
    private readonly requestsPerSecond: number,
  ) {}

  start(): void {
    this.startedAtMs = Date.now();
    this.timer = setInterval(() => this.pace(), PACE_MS);
  }

  /** From now on, answers served by the new flow count as exposure (the bad mode's regression). */
  startCountingExposure(): void {
    this.exposureFromMs = Date.now();
  }

  /** New-flow answers since startCountingExposure(). */
  get exposedRequests(): number {
    return this.exposed;
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    this.agent.destroy();
  }

  private pace(): void {
    const due = Math.floor(((Date.now() - this.startedAtMs) * this.requestsPerSecond) / 1000) - this.sent;
    for (let i = 0; i < due; i += 1) {
      this.sent += 1;
      if (this.inFlight.size >= MAX_IN_FLIGHT) continue;
      const call = this.one().finally(() => this.inFlight.delete(call));
      this.inFlight.add(call);
    }
  }

  private async one(): Promise<void> {
    const user = `u${Math.floor(Math.random() * USERS)}`;
    try {
      const result = await httpCall(this.agent, `${this.frontendUrl}/cart/checkout?user=${user}`);
      const isNew = result.headers['x-checkout-flow'] === 'new';
      const counts = isNew ? this.counts.newFlow : this.counts.classic;
      counts.requests += 1;
      if (result.status >= 500) counts.errors += 1;
      if (isNew && this.exposureFromMs !== undefined) this.exposed += 1;
    } catch {
      this.counts.failedCalls += 1;
    }
  }
}
