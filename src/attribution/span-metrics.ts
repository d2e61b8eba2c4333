// The point attributes the OpenTelemetry Collector's spanmetrics connector writes on the metrics it derives from
// spans (`traces.span.metrics.calls`, a monotonic sum, and `traces.span.metrics.duration`, a histogram in `ms`
// by default): `span.name`, `span.kind` and `status.code` beside `service.name` and any configured dimensions
// (such as `http.response.status_code`). Transcribed from opentelemetry-collector-contrib
// connector/spanmetricsconnector/connector.go at cca5faa0abec2960884daa30481a6d6694f11c3f (buildAttributes;
// kinds and codes spelled by internal/coreinternal/traceutil SpanKindStr and StatusCodeStr).
//
// Metric analyses match these attributes through `match.spanKind` and `match.spanName` (rules.ts), and a point
// whose `status.code` is STATUS_CODE_ERROR counts as errors under the `statusError` rule (error-rule.ts), as the
// span it came from would.
import type { AttributeValue } from '../otlp/model.js';
import type { SpanKindName } from '../config/analysis.js';

export const SPAN_NAME_ATTRIBUTE = 'span.name';
export const SPAN_KIND_ATTRIBUTE = 'span.kind';
export const STATUS_CODE_ATTRIBUTE = 'status.code';

/** traceutil.StatusCodeStr(ptrace.StatusCodeError). */
export const STATUS_CODE_ERROR = 'STATUS_CODE_ERROR';

/** traceutil.SpanKindStr for each kind an analysis can name. */
export const SPAN_KIND_VALUES: Readonly<Record<SpanKindName, string>> = {
  server: 'SPAN_KIND_SERVER',
  client: 'SPAN_KIND_CLIENT',
  internal: 'SPAN_KIND_INTERNAL',
  producer: 'SPAN_KIND_PRODUCER',
  consumer: 'SPAN_KIND_CONSUMER',
};

/** Whether a point's attributes say its span ended with status ERROR. */
export function isErrorStatus(value: AttributeValue | undefined): boolean {
  return value === STATUS_CODE_ERROR;
}

/**
 * Whether a point describes server spans as far as its attributes tell: `span.kind` absent (not a spanmetrics
 * point; a server-side histogram such as http.server.request.duration) or SPAN_KIND_SERVER.
 */
export function isServerPoint(kind: AttributeValue | undefined): boolean {
  return kind === undefined || kind === SPAN_KIND_VALUES.server;
}
