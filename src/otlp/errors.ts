// One catalogue of the errors the ingest edge can answer, each with a stable code, its gRPC status and
// HTTP status, and whether the sender should retry. Modelled on the Collector's
// receiver/otlpreceiver/internal/errors: retryable and permanent kept apart, one table for both transports.
//
// Retry semantics follow the OTLP spec ("Failures" / "OTLP/HTTP Throttling"): senders retry gRPC
// UNAVAILABLE (honouring RetryInfo) and HTTP 429/502/503/504 (honouring Retry-After), and never retry
// INVALID_ARGUMENT / 400 or a too-large payload.
import { status as GrpcStatus } from '@grpc/grpc-js';

export type IngestErrorCode =
  | 'OTLP_BAD_PAYLOAD'
  | 'OTLP_PAYLOAD_TOO_LARGE'
  | 'OTLP_UNSUPPORTED_MEDIA_TYPE'
  | 'OTLP_UNSUPPORTED_ENCODING'
  | 'OTLP_METHOD_NOT_ALLOWED'
  | 'OTLP_NOT_FOUND'
  | 'OTLP_UNAUTHENTICATED'
  | 'OTLP_OVERLOADED'
  | 'OTLP_TOO_SLOW'
  | 'OTLP_SHUTTING_DOWN'
  | 'OTLP_INTERNAL';

interface ErrorKind {
  grpcStatus: GrpcStatus;
  httpStatus: number;
  retryable: boolean;
}

export const INGEST_ERRORS: Readonly<Record<IngestErrorCode, ErrorKind>> = {
  OTLP_BAD_PAYLOAD: { grpcStatus: GrpcStatus.INVALID_ARGUMENT, httpStatus: 400, retryable: false },
  OTLP_PAYLOAD_TOO_LARGE: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 413, retryable: false },
  OTLP_UNSUPPORTED_MEDIA_TYPE: { grpcStatus: GrpcStatus.INVALID_ARGUMENT, httpStatus: 415, retryable: false },
  OTLP_UNSUPPORTED_ENCODING: { grpcStatus: GrpcStatus.INVALID_ARGUMENT, httpStatus: 415, retryable: false },
  OTLP_METHOD_NOT_ALLOWED: { grpcStatus: GrpcStatus.UNIMPLEMENTED, httpStatus: 405, retryable: false },
  OTLP_NOT_FOUND: { grpcStatus: GrpcStatus.UNIMPLEMENTED, httpStatus: 404, retryable: false },
  OTLP_UNAUTHENTICATED: { grpcStatus: GrpcStatus.UNAUTHENTICATED, httpStatus: 401, retryable: false },
  OTLP_OVERLOADED: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, retryable: true },
  // A body (or gRPC message) that arrives slower than otlp.minReceiveBytesPerSecond or not within
  // otlp.bodyTimeoutMs, or that gives way, stalled, to a request that needs its share: cut so that it stops
  // holding memory and a connection (receive-guard.ts). The data itself is fine, so the sender is told to
  // retry: HTTP 503 + Retry-After (408 is not in the spec's retryable 429/502/503/504, and neither the OTel JS
  // exporter nor the Collector's otlphttp exporter retries it: the batch was lost), gRPC DEADLINE_EXCEEDED,
  // which the spec's table marks retryable, with RetryInfo.
  OTLP_TOO_SLOW: { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED, httpStatus: 503, retryable: true },
  OTLP_SHUTTING_DOWN: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, retryable: true },
  OTLP_INTERNAL: { grpcStatus: GrpcStatus.INTERNAL, httpStatus: 500, retryable: false },
};

/** An export request refused as a whole. `retryAfterSeconds` is set exactly when the sender should retry. */
export class IngestError extends Error {
  readonly kind: ErrorKind;
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'IngestError';
    this.kind = INGEST_ERRORS[code];
  }
}
