// Spans whose times cannot be a latency are left out before attribution and counted (issue 9, case 9: a
// span with end < start, or with start 0 and so a 55-year duration, used to be judged silently). The
// decoders stay faithful to the wire; this is the receivers' rule on what may be judged. Each such span is
// an OTLP partial-success rejection with reason `invalid_span_time`.
import { MAX_LATENCY_NANOS, type DecodedSpan, type SpanBatch } from './model.js';
import { noRejections, quotedName, reject, rejectionFields } from './decode/resource.js';

/**
 * Why a span's times cannot be judged, or ''. A start of 0 means the sender did not set it; an end before
 * the start has no duration; a duration past MAX_LATENCY_NANOS (about 104 days) is outside what the
 * accumulator represents. An end equal to the start is a valid zero-length span.
 */
export function spanTimeProblem(span: DecodedSpan): string {
  if (span.startTimeUnixMs === 0) return 'start_time_unix_nano is 0 (not set)';
  if (span.durationNanos < 0) return 'end_time_unix_nano is before start_time_unix_nano';
  if (!(span.durationNanos <= MAX_LATENCY_NANOS))
    return 'the span lasts longer than 2^53 ns (about 104 days)';
  return '';
}

/** The batch without spans whose times cannot be judged, those counted as rejected with their reason. */
export function withoutInvalidSpanTimes(batch: SpanBatch): SpanBatch {
  let firstInvalid = -1;
  for (let i = 0; i < batch.spans.length && firstInvalid < 0; i++) {
    if (spanTimeProblem(batch.spans[i]) !== '') firstInvalid = i;
  }
  if (firstInvalid < 0) return batch;
  const rejections = noRejections();
  const spans = batch.spans.slice(0, firstInvalid);
  for (let i = firstInvalid; i < batch.spans.length; i++) {
    const span = batch.spans[i];
    const problem = spanTimeProblem(span);
    if (problem === '') spans.push(span);
    else reject(rejections, `span ${quotedName(span.name)}: ${problem}`, 'invalid_span_time');
  }
  const times = rejectionFields(rejections, 'spans');
  const reasons = { ...batch.rejectReasons };
  for (const [label, n] of Object.entries(times.rejectReasons ?? {})) {
    reasons[label as keyof typeof reasons] = (reasons[label as keyof typeof reasons] ?? 0) + n;
  }
  return {
    spans,
    rejected: batch.rejected + times.rejected,
    rejectMessage: [batch.rejectMessage, times.rejectMessage].filter((m) => m !== '').join('; '),
    rejectReasons: reasons,
  };
}
