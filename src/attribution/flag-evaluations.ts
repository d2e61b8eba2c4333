// OpenFeature evaluation records, in every form senders use today (semantic conventions, feature-flag
// events; OpenFeature's open-telemetry hooks):
// - log-based events named `feature_flag.evaluation` (current convention, OpenFeature `EventHook`);
// - span events of that name (`SpanEventHook`), and the older span event `feature_flag`;
// - child spans named `feature_flag.evaluation` (`SpanHook`), whose own attributes hold the record.
// Key: `feature_flag.key`. Variant: `feature_flag.result.variant`, the older `feature_flag.variant`, or
// `feature_flag.result.value` when the provider reports no variant.
import {
  FLAG_EVALUATION_EVENT,
  type AttributeValue,
  type Attributes,
  type DecodedFlagEvaluation,
  type DecodedSpan,
} from '../otlp/model.js';
import { readAttribute } from '../otlp/decode/lazy-attributes.js';

/** The span event name that older OpenTelemetry hooks used for evaluations. */
export const LEGACY_FLAG_EVENT = 'feature_flag';

export type FlagEvaluationSource = 'log' | 'span_event' | 'legacy_span_event' | 'child_span';

export interface FlagEvaluation {
  flagKey: string;
  variant: string;
  source: FlagEvaluationSource;
  /**
   * The record it was read from (a span event, the evaluation child span, a log record), for the context it
   * carries itself: OpenFeature's hooks put `feature_flag.context.id` on the record, not on the active span.
   * Read only while its request is handled.
   */
  record: { attributes: Attributes };
}

const VARIANT_KEYS = [
  'feature_flag.result.variant',
  'feature_flag.variant',
  'feature_flag.result.value',
] as const;

/**
 * A variant as text, so `true`, `2` and `"on"` compare with the configured baseline/canary strings.
 * Empty strings and null carry no variant; structured values are compared by their JSON.
 */
export function variantText(value: AttributeValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The evaluation an item's attributes record, read by single keys (readAttribute). */
function fromAttributes(
  item: { attributes: Attributes },
  source: FlagEvaluationSource,
): FlagEvaluation | undefined {
  const key = readAttribute(item, 'feature_flag.key');
  if (typeof key !== 'string' || key === '') return undefined;
  for (const name of VARIANT_KEYS) {
    const variant = variantText(readAttribute(item, name));
    if (variant !== undefined) return { flagKey: key, variant, source, record: item };
  }
  return undefined;
}

const NONE: FlagEvaluation[] = [];

/** Evaluations a span carries: its events, and the span itself when it is an evaluation child span. */
export function flagEvaluationsOfSpan(span: DecodedSpan): FlagEvaluation[] {
  if (span.events.length === 0 && span.name !== FLAG_EVALUATION_EVENT) return NONE; // most spans
  let found: FlagEvaluation[] | undefined;
  if (span.name === FLAG_EVALUATION_EVENT) {
    const own = fromAttributes(span, 'child_span');
    if (own) found = [own];
  }
  for (const event of span.events) {
    let evaluation: FlagEvaluation | undefined;
    if (event.name === FLAG_EVALUATION_EVENT) evaluation = fromAttributes(event, 'span_event');
    else if (event.name === LEGACY_FLAG_EVENT) evaluation = fromAttributes(event, 'legacy_span_event');
    if (evaluation) (found ??= []).push(evaluation);
  }
  return found ?? NONE;
}

/** The evaluation a log-based `feature_flag.evaluation` event carries, if it names a flag and a variant. */
export function flagEvaluationOfLog(record: DecodedFlagEvaluation): FlagEvaluation | undefined {
  if (record.eventName !== FLAG_EVALUATION_EVENT) return undefined;
  return fromAttributes(record, 'log');
}

/**
 * The distinct variants of `flagKey` among `evaluations`: usually none or one; two mean the span itself
 * saw both arms (evaluated twice with different contexts), which makes its trace conflicting.
 */
export function variantsOfFlag(evaluations: readonly FlagEvaluation[], flagKey: string): readonly string[] {
  let variants: string[] | undefined;
  for (const evaluation of evaluations) {
    if (evaluation.flagKey !== flagKey) continue;
    if (!variants) variants = [evaluation.variant];
    else if (!variants.includes(evaluation.variant)) variants.push(evaluation.variant);
  }
  return variants ?? NO_VARIANTS;
}

const NO_VARIANTS: readonly string[] = [];
