// Admission control shared by both transports: a process-wide budget of ingest bytes (received,
// decompressed, and decoded, HTTP and gRPC together) and a bound on requests in flight.
//
// When the event loop runs behind (more load than the core can take), new requests are refused at once with
// the same retry hint instead of waiting unread in socket buffers until their senders time out.
//
// A request is admitted when its first body bytes arrive, not when its headers do, and it holds only the
// bytes it has actually sent: a slow or idle sender holds no slot it has not paid for (issue 9, case 5).
// The receive guard (receive-guard.ts) cuts those that send too slowly, and when a slot or bytes are short
// it makes the longest-idle receiving request give way at once. Every chunk, every decompressed
// block and the decoded batch are charged before they are kept; a charge that would pass the budget is
// refused with a retry hint (503 + Retry-After / UNAVAILABLE + RetryInfo) and the request is dropped, so
// memory held by ingest never passes `maxBytes` (issue 9, cases 6 to 8). The OTel exporters back off and
// retry.
import type { Gauge } from 'prom-client';
import { IngestError } from './errors.js';

/**
 * Bytes of decoded batch per payload byte while a request is handed on: measured on realistic span batches
 * (bench/payloads.ts, 20,000 spans of 10 attributes) once attribution has read every span's attributes,
 * the decoded objects take 3.3x the protobuf payload; JSON payloads, twice as large for the same spans,
 * decode to about the same objects.
 */
export const DECODED_BYTES_PER_PAYLOAD_BYTE = 3;

export interface AdmissionOptions {
  /** Bytes all requests together may hold (otlp.maxIngestBytes). */
  maxBytes: number;
  /** Requests being received or processed at once (otlp.maxInFlightRequests). */
  maxRequests: number;
  /** Seconds a refused sender is told to wait. */
  retryAfterSeconds: number;
  requestsGauge?: Gauge;
  bytesGauge?: Gauge;
  /** How far behind the event loop runs now (event-loop-lag.ts), and the most admission accepts (0: off). */
  eventLoopLagMs?: () => number;
  maxEventLoopLagMs?: number;
}

/** One admitted request's share of the budget. Every lease must end with release() (safe to call twice). */
export class IngestLease {
  private held = 0;
  private released = false;

  constructor(private readonly admission: Admission) {}

  /** Bytes this request holds now. */
  get bytes(): number {
    return this.held;
  }

  /** Takes `bytes` more from the budget; false (nothing taken) when that would pass it. */
  grow(bytes: number): boolean {
    if (this.released) return false;
    if (!this.admission.take(bytes)) return false;
    // Taking may have made room by cutting an idle request, and that request may be this one.
    if (this.released) {
      this.admission.give(bytes);
      return false;
    }
    this.held += bytes;
    return true;
  }

  /** Gives back what the request no longer holds, keeping `bytes`. */
  shrinkTo(bytes: number): void {
    if (this.released || bytes >= this.held) return;
    this.admission.give(this.held - bytes);
    this.held = bytes;
  }

  /** Sets the charge to exactly `bytes` (growing or shrinking); false when growing would pass the budget. */
  resize(bytes: number): boolean {
    if (bytes <= this.held) {
      this.shrinkTo(bytes);
      return true;
    }
    return this.grow(bytes - this.held);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.give(this.held);
    this.held = 0;
    this.admission.leave();
  }
}

export class Admission {
  private requests = 0;
  private bytesInUse = 0;
  private closing = false;
  private drainWaiters: Array<() => void> = [];
  private relieve: () => boolean = () => false;

  constructor(private readonly options: AdmissionOptions) {}

  /**
   * What to do when a slot or bytes are short: the receive guard cuts an idle receiving request
   * (receive-guard.ts, preemptIdle), which releases its lease at once; returns whether it freed anything.
   */
  setRelief(relieve: () => boolean): void {
    this.relieve = relieve;
  }

  /** A lease for a request whose first bytes just arrived, or the refusal to send. */
  admit(): IngestLease | IngestError {
    const { maxRequests, retryAfterSeconds } = this.options;
    if (this.closing) {
      return new IngestError(
        'OTLP_SHUTTING_DOWN',
        'the receiver is shutting down; retry later',
        retryAfterSeconds,
      );
    }
    while (this.requests >= maxRequests && this.relieve()) {
      // each pass cut one idle receiver and freed its slot
    }
    const lag = this.options.eventLoopLagMs?.() ?? 0;
    const maxLag = this.options.maxEventLoopLagMs ?? 0;
    if (maxLag > 0 && lag > maxLag) {
      return new IngestError(
        'OTLP_OVERLOADED',
        `the sidecar is saturated (its event loop runs ${Math.round(lag)} ms behind, over otlp.maxEventLoopDelayMs ${maxLag}); retry later`,
        retryAfterSeconds,
      );
    }
    if (this.requests >= maxRequests) {
      return new IngestError(
        'OTLP_OVERLOADED',
        `${maxRequests} export requests are in flight (otlp.maxInFlightRequests); retry later`,
        retryAfterSeconds,
      );
    }
    this.requests += 1;
    this.options.requestsGauge?.set(this.requests);
    return new IngestLease(this);
  }

  /** The refusal for a charge the budget cannot take. */
  overBudget(): IngestError {
    const mib = (this.options.maxBytes / 1048576).toFixed(0);
    return new IngestError(
      'OTLP_OVERLOADED',
      `the ingest memory budget of ${mib} MiB (otlp.maxIngestBytes) is in use; retry later`,
      this.options.retryAfterSeconds,
    );
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Requests admitted and not yet answered. */
  get current(): number {
    return this.requests;
  }

  get bytesHeld(): number {
    return this.bytesInUse;
  }

  /** Bytes not held by any request now. */
  get bytesFree(): number {
    return this.options.maxBytes - this.bytesInUse;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Refuses new requests from now on and resolves when every admitted one has been answered. */
  close(): Promise<void> {
    this.closing = true;
    if (this.requests === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Cuts idle receivers until `bytes` are free (or none is left to cut); whether they are free now. */
  makeRoom(bytes: number): boolean {
    while (this.bytesInUse + bytes > this.options.maxBytes && this.relieve()) {
      // each pass cut one idle receiver and gave back its bytes
    }
    return this.bytesInUse + bytes <= this.options.maxBytes;
  }

  /** @internal IngestLease's side of the books. */
  take(bytes: number): boolean {
    if (!(bytes >= 0) || bytes > this.options.maxBytes) return false;
    while (this.bytesInUse + bytes > this.options.maxBytes && this.relieve()) {
      // each pass cut one idle receiver and gave back its bytes
    }
    if (this.bytesInUse + bytes > this.options.maxBytes) return false;
    this.bytesInUse += bytes;
    this.options.bytesGauge?.set(this.bytesInUse);
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.bytesInUse -= bytes;
    this.options.bytesGauge?.set(this.bytesInUse);
  }

  /** @internal */
  leave(): void {
    this.requests -= 1;
    this.options.requestsGauge?.set(this.requests);
    if (this.requests === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }
}
