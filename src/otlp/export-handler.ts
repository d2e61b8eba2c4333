// The transport-independent half of an export request: decode, hand the batch on, count, and build the
// response. Both receivers call it, so counting and error mapping are identical on gRPC and HTTP.
import type { Logger } from 'pino';
import type { CountSlot } from '../publish/count-slots.js';
import type { IngestMetrics, Signal, Transport } from '../publish/metrics.js';
import { IngestError } from './errors.js';
import type { RejectReason } from './model.js';

export type { PayloadEncoding } from './encode/index.js';
import type { PayloadEncoding } from './encode/index.js';

/** What one export request amounted to; `rejected > 0` becomes an OTLP partial success. */
export interface ExportOutcome {
  accepted: number;
  rejected: number;
  /** Items dropped by design (log records that are not flag evaluations). */
  ignored: number;
  rejectMessage: string;
  /** `rejected` by reason label; without it every rejection counts as `invalid_item`. */
  rejectReasons?: Partial<Record<RejectReason, number>>;
}

/** One OTLP signal: how to decode it and hand it on, and how to answer. See signals.ts. */
export interface SignalProcessor {
  readonly signal: Signal;
  /**
   * Decodes `payload` and hands the batch to the sink, in slices that yield to the event loop when it is
   * large (slices.ts): the outcome, or a promise of it when the batch takes more than one slice. Throws (or
   * rejects with) IngestError('OTLP_BAD_PAYLOAD') when malformed.
   */
  process(payload: Uint8Array, encoding: PayloadEncoding): ExportOutcome | Promise<ExportOutcome>;
  /** Export<Signal>ServiceResponse, with partial_success set only when something was rejected. */
  encodeResponse(outcome: ExportOutcome, encoding: PayloadEncoding): Uint8Array;
}

/** The counts every answered request of one transport and signal adds to (count-slots.ts). */
interface RequestSlots {
  ok: CountSlot<'transport' | 'signal' | 'outcome'>;
  items: CountSlot<'transport' | 'signal'>;
  bytes: CountSlot<'transport' | 'signal'>;
}

export class ExportHandler {
  private readonly slots = new Map<Transport, Map<Signal, RequestSlots>>();

  constructor(
    private readonly metrics: IngestMetrics,
    private readonly logger: Logger,
  ) {}

  private slotsOf(transport: Transport, signal: Signal): RequestSlots {
    let ofTransport = this.slots.get(transport);
    if (ofTransport === undefined) this.slots.set(transport, (ofTransport = new Map()));
    let slots = ofTransport.get(signal);
    if (slots === undefined) {
      const { requests, itemsReceived, bytesReceived } = this.metrics;
      slots = {
        ok: requests.slot({ transport, signal, outcome: 'ok' }),
        items: itemsReceived.slot({ transport, signal }),
        bytes: bytesReceived.slot({ transport, signal }),
      };
      ofTransport.set(signal, slots);
    }
    return slots;
  }

  /**
   * Runs one request: the response bytes, or an IngestError thrown (or rejected) for a request refused whole.
   * A batch handed on in one slice is answered in the same call, with no promise: at ~10 requests a second
   * each await is a microtask turn of baseline code (docs/performance-notes.md, footprint).
   */
  handle(
    processor: SignalProcessor,
    payload: Uint8Array,
    encoding: PayloadEncoding,
    transport: Transport,
  ): Uint8Array | Promise<Uint8Array> {
    let processed: ExportOutcome | Promise<ExportOutcome>;
    try {
      processed = processor.process(payload, encoding);
    } catch (error) {
      throw this.failure(error, processor.signal, transport);
    }
    if (!(processed instanceof Promise)) return this.answer(processor, processed, encoding, transport);
    return processed.then(
      (outcome) => this.answer(processor, outcome, encoding, transport),
      (error: unknown) => {
        throw this.failure(error, processor.signal, transport);
      },
    );
  }

  /** What a failed request is answered with. */
  private failure(error: unknown, signal: Signal, transport: Transport): IngestError {
    if (error instanceof IngestError) return error;
    // A sink or decoder bug must not take the process down; the sender sees INTERNAL and the log says why.
    this.logger.error({ err: error, transport, signal }, 'export request failed inside the pipeline');
    return new IngestError('OTLP_INTERNAL', `internal error while processing ${signal}`);
  }

  /** Counts a processed request and encodes its response. */
  private answer(
    processor: SignalProcessor,
    outcome: ExportOutcome,
    encoding: PayloadEncoding,
    transport: Transport,
  ): Uint8Array {
    const signal = processor.signal;
    const slots = this.slotsOf(transport, signal);
    slots.items.n += outcome.accepted;
    if (outcome.rejected > 0) {
      const reasons = outcome.rejectReasons ?? { invalid_item: outcome.rejected };
      for (const [reason, n] of Object.entries(reasons)) {
        if (n > 0) this.metrics.itemsRejected.inc({ transport, signal, reason }, n);
      }
      this.logger.debug(
        { transport, signal, rejected: outcome.rejected, reason: outcome.rejectMessage },
        'partial success',
      );
    }
    if (outcome.ignored > 0) this.metrics.logRecordsIgnored.inc({ transport }, outcome.ignored);
    slots.ok.n += 1;
    return processor.encodeResponse(outcome, encoding);
  }

  /** Bytes as they arrived on the wire (before decompression). */
  countBytes(transport: Transport, signal: Signal, byteCount: number): void {
    this.slotsOf(transport, signal).bytes.n += byteCount;
  }

  countRefused(transport: Transport, signal: Signal, error: IngestError): void {
    this.metrics.requests.inc({ transport, signal, outcome: error.code });
  }
}
