// Whether a span or metric point counts as an error, per analysis (config: `errors`).
// Semantic conventions, "Recording errors" and the HTTP/RPC span conventions: an HTTP server span is an
// error on 5xx only (4xx is the client's fault); gRPC servers on a set of status codes; `error.type`
// is set whenever an operation ended in an error.
import type { ErrorRule } from '../config/analysis.js';
import {
  SpanKind,
  StatusCode,
  type AttributeValue,
  type Attributes,
  type DecodedSpan,
} from '../otlp/model.js';

export interface ErrorClassifier {
  isErrorSpan(span: DecodedSpan): boolean;
  /** Metric points have no status and no kind: the attribute rules apply, as for a server span. */
  isErrorPoint(attributes: Attributes): boolean;
}

function statusNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

export function compileErrorRule(rule: ErrorRule): ErrorClassifier {
  const grpcCodes = new Set(rule.grpcStatusCodes);
  const byAttributes = (attributes: Attributes, isServer: boolean): boolean => {
    if (rule.httpServer5xx && isServer) {
      // `http.response.status_code` is the stable name (semconv 1.23+); `http.status_code` the older one.
      const status = statusNumber(attributes['http.response.status_code'] ?? attributes['http.status_code']);
      if (status !== undefined && status >= 500 && status <= 599) return true;
    }
    if (grpcCodes.size > 0) {
      const code = statusNumber(attributes['rpc.grpc.status_code']);
      if (code !== undefined && grpcCodes.has(code)) return true;
    }
    if (rule.errorType) {
      const errorType = attributes['error.type'];
      if (errorType !== undefined && errorType !== null && errorType !== '') return true;
    }
    return false;
  };
  return {
    isErrorSpan(span) {
      if (rule.statusError && span.statusCode === StatusCode.ERROR) return true;
      return byAttributes(span.attributes, span.kind === SpanKind.SERVER);
    },
    isErrorPoint(attributes) {
      return byAttributes(attributes, true);
    },
  };
}
