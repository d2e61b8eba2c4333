// The three OTLP signals as SignalProcessors: which decoder, which sink method, which response.
// Decoding errors become OTLP_BAD_PAYLOAD (INVALID_ARGUMENT / 400) carrying the decoder's message.
import {
  OtlpDecodeError,
  decodeLogsRequest,
  decodeLogsRequestJson,
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeTraceRequest,
  decodeTraceRequestJson,
} from './decode/index.js';
import {
  encodeExportResponse,
  encodeStatus as encodeRpcStatus,
  type PayloadEncoding,
} from './encode/index.js';
import { IngestError } from './errors.js';
import type { ExportOutcome, SignalProcessor } from './export-handler.js';
import type { Signal } from '../publish/metrics.js';
import type { LogBatch, MetricBatch, SpanBatch, TelemetrySink } from './model.js';
import { withoutInvalidSpanTimes } from './span-times.js';

function decodeWith<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof OtlpDecodeError) throw new IngestError('OTLP_BAD_PAYLOAD', error.message);
    throw error;
  }
}

function processor<B>(
  signal: Signal,
  decoders: Record<PayloadEncoding, (payload: Uint8Array) => B>,
  dispatch: (batch: B) => ExportOutcome,
): SignalProcessor {
  return {
    signal,
    process: (payload, encoding) => dispatch(decodeWith(() => decoders[encoding](payload))),
    encodeResponse: (outcome, encoding) =>
      encodeExportResponse(
        signal,
        { rejected: outcome.rejected, errorMessage: outcome.rejected > 0 ? outcome.rejectMessage : '' },
        encoding,
      ),
  };
}

export function createSignalProcessors(sink: TelemetrySink): Record<Signal, SignalProcessor> {
  return {
    traces: processor<SpanBatch>(
      'traces',
      { protobuf: decodeTraceRequest, json: decodeTraceRequestJson },
      (decoded) => {
        const batch = withoutInvalidSpanTimes(decoded);
        if (batch.spans.length > 0) sink.acceptSpans(batch);
        return {
          accepted: batch.spans.length,
          rejected: batch.rejected,
          ignored: 0,
          rejectMessage: batch.rejectMessage,
          rejectReasons: batch.rejectReasons,
        };
      },
    ),
    metrics: processor<MetricBatch>(
      'metrics',
      { protobuf: decodeMetricsRequest, json: decodeMetricsRequestJson },
      (batch) => {
        if (batch.points.length > 0) sink.acceptMetrics(batch);
        return {
          accepted: batch.points.length,
          rejected: batch.rejected,
          ignored: 0,
          rejectMessage: batch.rejectMessage,
          rejectReasons: batch.rejectReasons,
        };
      },
    ),
    logs: processor<LogBatch>(
      'logs',
      { protobuf: decodeLogsRequest, json: decodeLogsRequestJson },
      (batch) => {
        if (batch.flagEvaluations.length > 0) sink.acceptLogs(batch);
        return {
          accepted: batch.flagEvaluations.length,
          rejected: batch.rejected,
          ignored: batch.ignored,
          rejectMessage: batch.rejectMessage,
          rejectReasons: batch.rejectReasons,
        };
      },
    ),
  };
}

/** google.rpc.Status for a refused request, with RetryInfo when the sender should retry. */
export function encodeStatus(error: IngestError, encoding: PayloadEncoding): Uint8Array {
  return encodeRpcStatus(
    {
      code: error.kind.grpcStatus,
      message: error.message,
      retryDelayMs: error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined,
    },
    encoding,
  );
}
