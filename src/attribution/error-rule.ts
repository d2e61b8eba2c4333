// Whether a span or metric point counts as an error, per analysis (config: `errors`).
// Semantic conventions, "Recording errors" and the HTTP/RPC span conventions: an HTTP server span is an
// error on 5xx only (4xx is the client's fault); gRPC servers on a set of status codes; `error.type`
// is set whenever an operation ended in an error. Points of the Collector's spanmetrics connector carry the span's
// status as `status.code` and its kind as `span.kind` (span-metrics.ts): they are judged as their spans would be.
import type { ErrorRule } from '../config/analysis.js';
import {
  SpanKind,
  StatusCode,
  type AttributeValue,
  type Attributes,
  type DecodedSpan,
} from '../otlp/model.js';
import { readAttribute } from '../otlp/decode/lazy-attributes.js';
import { isErrorStatus, isServerPoint, SPAN_KIND_ATTRIBUTE, STATUS_CODE_ATTRIBUTE } from './span-metrics.js';

export interface ErrorClassifier {
  isErrorSpan(span: DecodedSpan): boolean;
  /**
   * Metric points have no status and no kind of their own: the attribute rules apply as for a server span,
   * unless a spanmetrics `span.kind` says otherwise; a spanmetrics `status.code` of ERROR is the span's status.
   */
  isErrorPoint(attributes: Attributes): boolean;
}

function statusNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

export function compileErrorRule(rule: ErrorRule): ErrorClassifier {
  const grpcCodes = new Set(rule.grpcStatusCodes);
  // Single-key reads (readAttribute): a span's attributes object is never built just to classify it.
  const byAttributes = (item: { attributes: Attributes }, isServer: boolean): boolean => {
    if (rule.httpServer5xx && isServer) {
      // `http.response.status_code` is the stable name (semconv 1.23+); `http.status_code` the older one.
      const status = statusNumber(
        readAttribute(item, 'http.response.status_code') ?? readAttribute(item, 'http.status_code'),
      );
      if (status !== undefined && status >= 500 && status <= 599) return true;
    }
    if (grpcCodes.size > 0) {
      const code = statusNumber(readAttribute(item, 'rpc.grpc.status_code'));
      if (code !== undefined && grpcCodes.has(code)) return true;
    }
    if (rule.errorType) {
      const errorType = readAttribute(item, 'error.type');
      if (errorType !== undefined && errorType !== null && errorType !== '') return true;
    }
    return false;
  };
  return {
    isErrorSpan(span) {
      if (rule.statusError && span.statusCode === StatusCode.ERROR) return true;
      return byAttributes(span, span.kind === SpanKind.SERVER);
    },
    isErrorPoint(attributes) {
      if (rule.statusError && isErrorStatus(attributes[STATUS_CODE_ATTRIBUTE])) return true;
      return byAttributes({ attributes }, isServerPoint(attributes[SPAN_KIND_ATTRIBUTE]));
    },
  };
}
