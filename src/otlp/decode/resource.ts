// What every signal shares above its items: Resource (resource/v1/resource.proto: attributes = 1) and
// InstrumentationScope (common/v1/common.proto: name = 1), plus the bookkeeping of rejected items and
// trace-context ids.
import type { Attributes, RejectReason, ResourceInfo } from '../model.js';
import { countAttribute, decodeKeyValue } from './any-value.js';
import { enterMessage, leaveMessage, skipField, type WireContext } from './wire.js';

/** A resource with no attributes; the object is filled in place when the Resource field is read. */
export function emptyResource(): ResourceInfo {
  return { serviceName: '', attributes: {} };
}

/** `service.name` when it is a string (the resource semantic conventions require one), else ''. */
export function serviceNameOf(attributes: Attributes): string {
  const name = attributes['service.name'];
  return typeof name === 'string' ? name : '';
}

/**
 * Reads a Resource into `into`. The ResourceInfo object is created before the Resource field is seen
 * and shared by every item under it, because protobuf allows fields in any order.
 */
export function decodeResource(ctx: WireContext, into: ResourceInfo): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let seen = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      seen = countAttribute(seen, 'Resource.attributes');
      ctx.path.push('Resource.attributes');
      decodeKeyValue(ctx, into.attributes, 0);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  into.serviceName = serviceNameOf(into.attributes);
}

/** Reads an InstrumentationScope and returns its name (the rest is not used downstream). */
export function decodeScopeName(ctx: WireContext): string {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let name = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) name = reader.stringVerify();
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  return name;
}

/** Items present but unusable (OTLP partial success): how many, the first reason, and a count per label. */
export interface Rejections {
  count: number;
  firstReason: string;
  byLabel: Partial<Record<RejectReason, number>>;
}

export function noRejections(): Rejections {
  return { count: 0, firstReason: '', byLabel: {} };
}

/** Counts one rejected item; `label` is its `reason` in canary_judge_otlp_items_rejected_total. */
export function reject(rejections: Rejections, reason: string, label: RejectReason = 'invalid_item'): void {
  if (rejections.count === 0) rejections.firstReason = reason;
  rejections.count++;
  rejections.byLabel[label] = (rejections.byLabel[label] ?? 0) + 1;
}

/** The batch fields that report rejections: count, message, and the per-label counts when there are any. */
export function rejectionFields(
  rejections: Rejections,
  items: string,
): { rejected: number; rejectMessage: string; rejectReasons?: Partial<Record<RejectReason, number>> } {
  const fields = { rejected: rejections.count, rejectMessage: rejectMessage(rejections, items) };
  return rejections.count === 0 ? fields : { ...fields, rejectReasons: rejections.byLabel };
}

/** A span or metric name for a reject message: quoted, and cut short so a hostile name cannot bloat it. */
export function quotedName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name);
}

/** The partial-success error_message: the first reason, and how many more there were. */
export function rejectMessage(rejections: Rejections, items: string): string {
  if (rejections.count === 0) return '';
  if (rejections.count === 1) return `1 ${items.replace(/s$/, '')} rejected: ${rejections.firstReason}`;
  return `${rejections.count} ${items} rejected; first: ${rejections.firstReason}`;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Why a trace id is unusable, or '' when it is valid: 16 bytes, not all zero (trace.proto, Span.trace_id;
 * W3C Trace Context). `hex` is the decoded id in hex (2 characters per byte).
 */
export function traceIdProblem(hex: string): string {
  if (hex.length !== 32) return `trace_id must be 16 bytes, got ${hex.length / 2}`;
  if (hex === ZERO_TRACE_ID) return 'trace_id is all zeros';
  return '';
}

/** The problem of a span id of 8 zero bytes (spanIdProblem; the protobuf decoder reads ids as halves). */
export const ZERO_SPAN_ID_PROBLEM = 'span_id is all zeros';

/** Why a span id is unusable, or '': 8 bytes, not all zero (trace.proto, Span.span_id). */
export function spanIdProblem(hex: string): string {
  if (hex.length !== 16) return `span_id must be 8 bytes, got ${hex.length / 2}`;
  if (hex === ZERO_SPAN_ID) return ZERO_SPAN_ID_PROBLEM;
  return '';
}

/** Optional ids (parent_span_id, a log record's trace context): empty or all-zero means "none". */
export function isAbsentId(hex: string): boolean {
  return hex === '' || hex === ZERO_TRACE_ID || hex === ZERO_SPAN_ID;
}
