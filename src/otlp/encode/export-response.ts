// Export<Signal>ServiceResponse (collector/<signal>/v1/<signal>_service.proto): partial_success = 1,
// holding rejected_<items> = 1 (int64) and error_message = 2. OTLP spec, "Partial Success": the server
// sets partial_success only when it rejected something (or has a warning); on full success the message
// is empty, which is zero bytes in protobuf and `{}` in JSON.
import { Writer } from 'protobufjs/minimal.js';
import type { OtlpSignal } from '../decode/errors.js';

export type PayloadEncoding = 'protobuf' | 'json';

/** What the server answers about one export request. */
export interface PartialSuccess {
  /** Items rejected (spans, data points or log records). */
  rejected: number;
  /** Developer-facing reason; with rejected = 0 and a message, a warning. */
  errorMessage: string;
}

/** The JSON name of the rejected-items counter, per signal (lowerCamelCase of the proto field). */
const REJECTED_FIELD: Record<OtlpSignal, string> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

const textEncoder = new TextEncoder();

/** The response for `signal` in the request's encoding. */
export function encodeExportResponse(
  signal: OtlpSignal,
  partial: PartialSuccess,
  encoding: PayloadEncoding,
): Uint8Array {
  return encoding === 'json'
    ? encodeExportResponseJson(signal, partial)
    : encodeExportResponseProtobuf(partial);
}

export function encodeExportResponseProtobuf(partial: PartialSuccess): Uint8Array {
  if (isFullSuccess(partial)) return new Uint8Array(0);
  const writer = Writer.create();
  writer.uint32(10).fork(); // partial_success = 1, LEN
  if (partial.rejected > 0) writer.uint32(8).int64(partial.rejected); // rejected_<items> = 1, VARINT
  if (partial.errorMessage !== '') writer.uint32(18).string(partial.errorMessage); // error_message = 2
  writer.ldelim();
  return writer.finish();
}

/** int64 fields are decimal strings in the protobuf JSON mapping (and so in OTLP/JSON). */
export function encodeExportResponseJson(signal: OtlpSignal, partial: PartialSuccess): Uint8Array {
  if (isFullSuccess(partial)) return textEncoder.encode('{}');
  const body: Record<string, string> = {};
  if (partial.rejected > 0) body[REJECTED_FIELD[signal]] = String(partial.rejected);
  if (partial.errorMessage !== '') body.errorMessage = partial.errorMessage;
  return textEncoder.encode(JSON.stringify({ partialSuccess: body }));
}

function isFullSuccess(partial: PartialSuccess): boolean {
  return partial.rejected <= 0 && partial.errorMessage === '';
}
