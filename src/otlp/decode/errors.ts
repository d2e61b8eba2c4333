// The one error a decoder throws. A malformed payload (truncated, bad wire type or length, invalid UTF-8,
// JSON that is not OTLP/JSON) refuses the whole request: the receiver answers gRPC INVALID_ARGUMENT /
// HTTP 400 (OTLP spec, "Failures": not retryable). Items that decode but are unusable are not errors;
// they are counted in the batch's `rejected` (OTLP partial success).

export type OtlpSignal = 'traces' | 'metrics' | 'logs';

export class OtlpDecodeError extends Error {
  /** Stable code; maps to OTLP_BAD_PAYLOAD in src/otlp/errors.ts. */
  readonly code = 'OTLP_DECODE_MALFORMED';

  constructor(
    readonly signal: OtlpSignal,
    /** What is wrong, e.g. "truncated message". */
    readonly reason: string,
    /** Where: "at byte 1234 in ResourceSpans.scope_spans > ScopeSpans.spans" or a JSON path. */
    readonly location: string,
  ) {
    super(`${signal}: ${reason}${location === '' ? '' : ` ${location}`}`);
    this.name = 'OtlpDecodeError';
  }
}

/** Thrown inside a decoder, turned into an OtlpDecodeError (with byte offset and path) at the top. */
export class MalformedPayload extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedPayload';
  }
}

/**
 * Maps anything a decoder or protobufjs's Reader can throw to a reason a sender can act on. Reader
 * throws RangeError("index out of range") when a read passes the end of the (sub)message.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof MalformedPayload) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('index out of range')) return 'truncated message';
  if (message.includes('call stack')) return 'message nested too deeply';
  if (message.includes('invalid varint')) return 'invalid varint';
  if (message.includes('invalid tag')) return 'invalid field tag';
  if (message.includes('invalid length')) return 'invalid length prefix';
  if (message.includes('invalid wire type')) return message.replace(/ at offset \d+$/, '');
  if (message.includes('end group')) return 'invalid end-group tag';
  if (message.includes('max depth')) return 'groups nested too deeply';
  if (message.includes('field number 0')) return 'invalid field number 0';
  // TextDecoder({ fatal: true }) raises a TypeError whose wording varies by Node version.
  if (error instanceof TypeError && /utf-?8|encoded data/i.test(message))
    return 'invalid UTF-8 in a string field';
  return `malformed payload (${message})`;
}
