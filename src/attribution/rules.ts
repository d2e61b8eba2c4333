// An analysis compiled for the hot path: which spans/points it matches, where its variant comes from,
// what its correlation key is, and which arm a variant value means.
import { TRACE_ID_KEY, type Analysis } from '../config/analysis.js';
import {
  SpanKind,
  type AttributeValue,
  type Attributes,
  type DecodedFlagEvaluation,
  type DecodedMetricPoint,
  type DecodedSpan,
} from '../otlp/model.js';
import { readAttribute } from '../otlp/decode/lazy-attributes.js';
import { compileErrorRule, type ErrorClassifier } from './error-rule.js';
import { variantsOfFlag, variantText, type FlagEvaluation } from './flag-evaluations.js';
import type { Arm } from '../accumulate/observation.js';
import { compileSpanNameGlob } from './span-name-glob.js';
import { SPAN_KIND_ATTRIBUTE, SPAN_KIND_VALUES, SPAN_NAME_ATTRIBUTE } from './span-metrics.js';

const KIND_NUMBERS: Record<string, number> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

export interface AnalysisRule {
  readonly id: string;
  readonly analysis: Analysis;
  /** Metric analyses (match.metric set) judge points; the others judge spans. */
  readonly judges: 'spans' | 'metrics';
  readonly windowMs: number;
  readonly joinsByTrace: boolean;
  /** match.spanKind as an OTLP SpanKind number, undefined for any kind (the routing index's key). */
  readonly spanKind: number | undefined;
  readonly errors: ErrorClassifier;
  matchesSpan(span: DecodedSpan): boolean;
  matchesPoint(point: DecodedMetricPoint): boolean;
  /**
   * What a matched point gives: `all` (requests, errors and latencies), `latency` (the histogram beside a
   * requests metric: latencies only) or `requests` (the requests metric: requests and errors).
   */
  pointRole(point: DecodedMetricPoint): 'all' | 'latency' | 'requests';
  /** The span's join key, or undefined when it has none. */
  correlationKeyOfSpan(span: DecodedSpan): string | undefined;
  correlationKeyOfLog(record: DecodedFlagEvaluation): string | undefined;
  /**
   * The join key an evaluation carried by `span` teaches its variant to: the record's own correlation
   * attribute when the analysis joins by one and the record has it (a span event's
   * `feature_flag.context.id`), else the span's key.
   */
  correlationKeyOfEvaluation(evaluation: FlagEvaluation, span: DecodedSpan): string | undefined;
  /**
   * The variants this span teaches its whole correlation key: a flag evaluation it carries, or the span
   * attribute. Resource attributes are not taught: they describe the emitting process (service.version of
   * the frontend says nothing about the backend), so they only apply to that process's own spans.
   */
  learnedFromSpan(span: DecodedSpan, evaluations: readonly FlagEvaluation[]): readonly string[];
  /** The variant of a resource attribute on the span's own process; it wins over anything learned. */
  ownResourceVariant(span: DecodedSpan): string | undefined;
  learnedFromEvaluation(evaluation: FlagEvaluation): string | undefined;
  /** A point's variant from its own attributes, then its resource's (or the flag records on the point). */
  variantOfPoint(point: DecodedMetricPoint): string | undefined;
  armOf(variant: string): Arm | 'other';
}

const NO_VARIANTS: readonly string[] = [];

/**
 * match.attributes as a test on an item's own attributes (single-key reads), then its resource's; values
 * compare as text.
 */
function attributeFilter(
  wanted: Record<string, string | number | boolean> | undefined,
): ((own: { attributes: Attributes }, resource: Attributes) => boolean) | undefined {
  if (wanted === undefined) return undefined;
  const entries = Object.entries(wanted).map(([key, value]) => [key, String(value)] as const);
  return (own, resource) =>
    entries.every(([key, value]) => {
      const found = readAttribute(own, key) ?? resource[key];
      return found !== undefined && found !== null && typeof found !== 'object' && String(found) === value;
    });
}

function keyText(value: AttributeValue | undefined): string | undefined {
  return variantText(value);
}

export function compileAnalysis(analysis: Analysis): AnalysisRule {
  const { match, variant, correlation } = analysis;
  const spanName = match.spanName === undefined ? undefined : compileSpanNameGlob(match.spanName);
  const spanKind = match.spanKind === undefined ? undefined : KIND_NUMBERS[match.spanKind];
  const pointKind = match.spanKind === undefined ? undefined : SPAN_KIND_VALUES[match.spanKind];
  const attributesMatch = attributeFilter(match.attributes);
  const joinsByTrace = correlation.key === TRACE_ID_KEY;
  const key = correlation.key;
  const flag = variant.flag;
  const attribute = variant.attribute;
  return {
    id: analysis.id,
    analysis,
    judges: match.metric === undefined ? 'spans' : 'metrics',
    windowMs: correlation.windowMs,
    joinsByTrace,
    spanKind,
    errors: compileErrorRule(analysis.errors),
    matchesSpan(span) {
      if (match.metric !== undefined) return false;
      if (match.service !== undefined && span.resource.serviceName !== match.service) return false;
      if (spanKind !== undefined && span.kind !== spanKind) return false;
      if (spanName !== undefined && !spanName(span.name)) return false;
      return attributesMatch === undefined || attributesMatch(span, span.resource.attributes);
    },
    matchesPoint(point) {
      if (point.metricName !== match.metric && point.metricName !== match.requestsMetric) return false;
      if (match.service !== undefined && point.resource.serviceName !== match.service) return false;
      const { attributes } = point;
      if (pointKind !== undefined && attributes[SPAN_KIND_ATTRIBUTE] !== pointKind) return false;
      if (spanName !== undefined) {
        const name = attributes[SPAN_NAME_ATTRIBUTE];
        if (typeof name !== 'string' || !spanName(name)) return false;
      }
      return attributesMatch === undefined || attributesMatch(point, point.resource.attributes);
    },
    pointRole(point) {
      if (match.requestsMetric === undefined) return 'all';
      return point.metricName === match.requestsMetric ? 'requests' : 'latency';
    },
    correlationKeyOfSpan(span) {
      if (joinsByTrace) return span.traceId === '' ? undefined : span.traceId;
      return keyText(readAttribute(span, key) ?? span.resource.attributes[key]);
    },
    correlationKeyOfLog(record) {
      if (joinsByTrace) return record.traceId === '' ? undefined : record.traceId;
      return keyText(record.attributes[key] ?? record.resource.attributes[key]);
    },
    correlationKeyOfEvaluation(evaluation, span) {
      if (joinsByTrace) return this.correlationKeyOfSpan(span);
      return keyText(readAttribute(evaluation.record, key)) ?? this.correlationKeyOfSpan(span);
    },
    learnedFromSpan(span, evaluations) {
      if (flag !== undefined) return variantsOfFlag(evaluations, flag);
      const value = variantText(readAttribute(span, attribute as string));
      return value === undefined ? NO_VARIANTS : [value];
    },
    ownResourceVariant(span) {
      return attribute === undefined ? undefined : variantText(span.resource.attributes[attribute]);
    },
    learnedFromEvaluation(evaluation) {
      return flag !== undefined && evaluation.flagKey === flag ? evaluation.variant : undefined;
    },
    variantOfPoint(point) {
      if (attribute !== undefined) {
        return variantText(point.attributes[attribute] ?? point.resource.attributes[attribute]);
      }
      // A flag recorded on the point itself (e.g. a view keeping `feature_flag.*` attributes).
      if (point.attributes['feature_flag.key'] !== flag) return undefined;
      return variantText(
        point.attributes['feature_flag.result.variant'] ??
          point.attributes['feature_flag.variant'] ??
          point.attributes['feature_flag.result.value'],
      );
    },
    armOf(value) {
      if (value === analysis.baseline) return 'baseline';
      if (value === analysis.canary) return 'canary';
      return 'other';
    },
  };
}
