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
import type {
  DecodedFlagEvaluation,
  DecodedMetricPoint,
  DecodedSpan,
  LogBatch,
  MetricBatch,
  SpanBatch,
  TelemetrySink,
} from './model.js';
import { inSlices } from './slices.js';
import { withoutInvalidSpanTimes } from './span-times.js';

function decodeWith<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof OtlpDecodeError) throw new IngestError('OTLP_BAD_PAYLOAD', error.message);
    throw error;
  }
}

function processor<B, I>(
  signal: Signal,
  decoders: Record<PayloadEncoding, (payload: Uint8Array) => B>,
  items: (batch: B) => I[],
  hand: (batch: B, slice: I[]) => void,
  outcome: (batch: B) => ExportOutcome,
): SignalProcessor {
  return {
    signal,
    process: async (payload, encoding) => {
      const batch = decodeWith(() => decoders[encoding](payload));
      // Counted first: handing on in slices empties the batch as it goes (slices.ts).
      const result = outcome(batch);
      const all = items(batch);
      if (all.length > 0)
        await inSlices(all, (slice) => hand(batch, slice), { payloadBytes: payload.byteLength });
      return result;
    },
    encodeResponse: (result, encoding) =>
      encodeExportResponse(
        signal,
        { rejected: result.rejected, errorMessage: result.rejected > 0 ? result.rejectMessage : '' },
        encoding,
      ),
  };
}

function rejectedOf(batch: SpanBatch | MetricBatch | LogBatch): Omit<ExportOutcome, 'accepted' | 'ignored'> {
  return {
    rejected: batch.rejected,
    rejectMessage: batch.rejectMessage,
    rejectReasons: batch.rejectReasons,
  };
}

/**
 * A batch handed on in one slice goes to the sink as decoded; the slices of a larger one carry no rejection
 * counts (the response reports those), so nothing downstream could count a rejection twice.
 */
export function createSignalProcessors(sink: TelemetrySink): Record<Signal, SignalProcessor> {
  const rest = { rejected: 0, rejectMessage: '' };
  return {
    traces: processor<SpanBatch, DecodedSpan>(
      'traces',
      {
        protobuf: (payload) => withoutInvalidSpanTimes(decodeTraceRequest(payload)),
        json: (payload) => withoutInvalidSpanTimes(decodeTraceRequestJson(payload)),
      },
      (batch) => batch.spans,
      (batch, spans) => sink.acceptSpans(spans === batch.spans ? batch : { spans, ...rest }),
      (batch) => ({ accepted: batch.spans.length, ignored: 0, ...rejectedOf(batch) }),
    ),
    metrics: processor<MetricBatch, DecodedMetricPoint>(
      'metrics',
      { protobuf: decodeMetricsRequest, json: decodeMetricsRequestJson },
      (batch) => batch.points,
      (batch, points) => sink.acceptMetrics(points === batch.points ? batch : { points, ...rest }),
      (batch) => ({ accepted: batch.points.length, ignored: 0, ...rejectedOf(batch) }),
    ),
    logs: processor<LogBatch, DecodedFlagEvaluation>(
      'logs',
      { protobuf: decodeLogsRequest, json: decodeLogsRequestJson },
      (batch) => batch.flagEvaluations,
      (batch, flagEvaluations) =>
        sink.acceptLogs(
          flagEvaluations === batch.flagEvaluations ? batch : { flagEvaluations, ignored: 0, ...rest },
        ),
      (batch) => ({ accepted: batch.flagEvaluations.length, ignored: batch.ignored, ...rejectedOf(batch) }),
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
