// The eager decode as the reference for lazily decoded attributes, and span bytes built by hand: shared by
// lazy-attributes.test.ts and attribute-walk.test.ts.
import { Writer } from 'protobufjs';
import { expect } from 'vitest';
import { setLazyAttributes } from '../../../src/otlp/decode/attribute-walk.js';
import { OtlpDecodeError, decodeTraceRequest } from '../../../src/otlp/decode/index.js';
import type { SpanBatch } from '../../../src/otlp/model.js';
import { plainBatch } from './plain-batch.js';

export const seed = Number(process.env.FUZZ_SEED ?? 20261125);

export function eager(bytes: Uint8Array): SpanBatch {
  const previous = setLazyAttributes(false);
  try {
    return decodeTraceRequest(bytes);
  } finally {
    setLazyAttributes(previous);
  }
}

export type Outcome = { batch: SpanBatch } | { error: unknown };

export function attempt(decode: () => SpanBatch): Outcome {
  try {
    return { batch: decode() };
  } catch (error) {
    return { error };
  }
}

/** Lazy and eager decodes of `bytes` agree: the same error, or batches equal once every getter is read. */
export function sameAsEager(bytes: Uint8Array): void {
  const reference = attempt(() => eager(bytes));
  const lazy = attempt(() => decodeTraceRequest(bytes));
  if ('error' in reference) {
    expect(reference.error).toBeInstanceOf(OtlpDecodeError);
    expect('error' in lazy && lazy.error).toEqual(reference.error);
    return;
  }
  if ('error' in lazy) throw lazy.error;
  // Serialising reads every attributes getter, so a lazy read that throws fails here; it also checks
  // that keys come in the same order.
  expect(JSON.stringify(lazy.batch)).toBe(JSON.stringify(reference.batch));
  expect(plainBatch(lazy.batch)).toEqual(plainBatch(reference.batch));
}

/** A Span with the given raw fields after valid ids (field numbers from trace.proto). */
export function spanBytes(build: (w: Writer) => void): Uint8Array {
  const span = Writer.create();
  span.uint32(10).bytes(new Uint8Array(16).fill(1)).uint32(18).bytes(new Uint8Array(8).fill(2));
  build(span);
  const spanEncoded = span.finish();
  const scope = Writer.create().uint32(18).bytes(spanEncoded).finish();
  const resourceSpans = Writer.create().uint32(18).bytes(scope).finish();
  return Writer.create().uint32(10).bytes(resourceSpans).finish();
}

/** A KeyValue with `key` and an AnyValue that `value` writes (common.proto). */
export function keyValue(key: string, value: (w: Writer) => void): Uint8Array {
  const anyValue = Writer.create();
  value(anyValue);
  return Writer.create().uint32(10).string(key).uint32(18).bytes(anyValue.finish()).finish();
}
