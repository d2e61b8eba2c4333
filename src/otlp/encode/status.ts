// google.rpc.Status (google/rpc/status.proto: code = 1, message = 2, details = 3 repeated Any), the
// error body of OTLP/HTTP (OTLP spec, "Failures") and the payload of gRPC's `grpc-status-details-bin`
// trailer. The only detail we send is google.rpc.RetryInfo (error_details.proto: retry_delay = 1, a
// google.protobuf.Duration of seconds = 1, nanos = 2), which tells OTLP exporters when to retry after
// UNAVAILABLE / 429 / 503 (OTLP spec, "OTLP/gRPC Throttling").
import { Writer } from 'protobufjs/minimal.js';
import type { PayloadEncoding } from './export-response.js';

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

export interface RpcStatus {
  /** A google.rpc.Code / gRPC status code number (e.g. 3 INVALID_ARGUMENT, 14 UNAVAILABLE). */
  code: number;
  message: string;
  /** When set, a RetryInfo detail with this delay is attached. */
  retryDelayMs?: number;
}

const textEncoder = new TextEncoder();

export function encodeStatus(status: RpcStatus, encoding: PayloadEncoding): Uint8Array {
  return encoding === 'json' ? encodeStatusJson(status) : encodeStatusProtobuf(status);
}

/** Serialized google.rpc.Status, for HTTP protobuf bodies and `grpc-status-details-bin`. */
export function encodeStatusProtobuf(status: RpcStatus): Uint8Array {
  const writer = Writer.create();
  if (status.code !== 0) writer.uint32(8).int32(status.code);
  if (status.message !== '') writer.uint32(18).string(status.message);
  if (status.retryDelayMs !== undefined) {
    writer.uint32(26).bytes(encodeRetryInfoAny(status.retryDelayMs)); // details = 3
  }
  return writer.finish();
}

/** A google.protobuf.Any (type_url = 1, value = 2) wrapping RetryInfo{retry_delay}. */
export function encodeRetryInfoAny(retryDelayMs: number): Uint8Array {
  const { seconds, nanos } = toDuration(retryDelayMs);
  const duration = Writer.create();
  if (seconds !== 0) duration.uint32(8).int64(seconds);
  if (nanos !== 0) duration.uint32(16).int32(nanos);
  const retryInfo = Writer.create().uint32(10).bytes(duration.finish()).finish();
  return Writer.create().uint32(10).string(RETRY_INFO_TYPE_URL).uint32(18).bytes(retryInfo).finish();
}

/**
 * google.rpc.Status in the protobuf JSON mapping: Any is `{"@type": url, ...fields}` and Duration is a
 * string of seconds with an "s" suffix ("1.500s").
 */
export function encodeStatusJson(status: RpcStatus): Uint8Array {
  const body: { code: number; message: string; details?: object[] } = {
    code: status.code,
    message: status.message,
  };
  if (status.retryDelayMs !== undefined) {
    body.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: durationJson(status.retryDelayMs) }];
  }
  return textEncoder.encode(JSON.stringify(body));
}

function toDuration(ms: number): { seconds: number; nanos: number } {
  const clamped = Number.isFinite(ms) && ms > 0 ? Math.round(ms * 1e6) : 0; // whole nanoseconds
  const seconds = Math.floor(clamped / 1e9);
  return { seconds, nanos: clamped - seconds * 1e9 };
}

/** "5s", "1.500s", "0.000001s": 0, 3, 6 or 9 fractional digits as the JSON mapping prescribes. */
export function durationJson(ms: number): string {
  const { seconds, nanos } = toDuration(ms);
  if (nanos === 0) return `${seconds}s`;
  const digits = nanos % 1e6 === 0 ? 3 : nanos % 1e3 === 0 ? 6 : 9;
  const fraction = String(nanos).padStart(9, '0').slice(0, digits);
  return `${seconds}.${fraction}s`;
}
