// The transport-independent half of an export request: decode, hand the batch on, count, and build the
// response. Both receivers call it, so counting and error mapping are identical on gRPC and HTTP.
import type { Logger } from 'pino';
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
   * large (slices.ts). Rejects with IngestError('OTLP_BAD_PAYLOAD') when malformed.
   */
  process(payload: Uint8Array, encoding: PayloadEncoding): Promise<ExportOutcome>;
  /** Export<Signal>ServiceResponse, with partial_success set only when something was rejected. */
  encodeResponse(outcome: ExportOutcome, encoding: PayloadEncoding): Uint8Array;
}

export class ExportHandler {
  constructor(
    private readonly metrics: IngestMetrics,
    private readonly logger: Logger,
  ) {}

  /** Runs one request; resolves to the response bytes, or rejects with IngestError for a request refused whole. */
  async handle(
    processor: SignalProcessor,
    payload: Uint8Array,
    encoding: PayloadEncoding,
    transport: Transport,
  ): Promise<Uint8Array> {
    const signal = processor.signal;
    let outcome: ExportOutcome;
    try {
      outcome = await processor.process(payload, encoding);
    } catch (error) {
      if (error instanceof IngestError) throw error;
      // A sink or decoder bug must not take the process down; the sender sees INTERNAL and the log says why.
      this.logger.error({ err: error, transport, signal }, 'export request failed inside the pipeline');
      throw new IngestError('OTLP_INTERNAL', `internal error while processing ${signal}`);
    }
    this.metrics.itemsReceived.inc({ transport, signal }, outcome.accepted);
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
    this.metrics.requests.inc({ transport, signal, outcome: 'ok' });
    return processor.encodeResponse(outcome, encoding);
  }

  /** Bytes as they arrived on the wire (before decompression). */
  countBytes(transport: Transport, signal: Signal, byteCount: number): void {
    this.metrics.bytesReceived.inc({ transport, signal }, byteCount);
  }

  countRefused(transport: Transport, signal: Signal, error: IngestError): void {
    this.metrics.requests.inc({ transport, signal, outcome: error.code });
  }
}
