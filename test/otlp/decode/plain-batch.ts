// Decoded protobuf spans keep `attributes` as an accessor on their class (src/otlp/decode/lazy-attributes.ts),
// which deep equality does not see; tests compare their plain data, as the JSON decoder's spans are.
import { plainSpan } from '../../../src/otlp/decode/lazy-attributes.js';
import type { SpanBatch } from '../../../src/otlp/model.js';

export function plainBatch(batch: SpanBatch): SpanBatch {
  return { ...batch, spans: batch.spans.map(plainSpan) };
}
