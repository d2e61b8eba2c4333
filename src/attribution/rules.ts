// An analysis compiled for the hot path: which spans/points it matches, where its variant comes from,
// what its correlation key is, and which arm a variant value means.
import { TRACE_ID_KEY, type Analysis } from '../config/analysis.js';
import {
  SpanKind,
  type AttributeValue,
  type DecodedFlagEvaluation,
  type DecodedMetricPoint,
  type DecodedSpan,
} from '../otlp/model.js';
import { compileErrorRule, type ErrorClassifier } from './error-rule.js';
import { variantsOfFlag, variantText, type FlagEvaluation } from './flag-evaluations.js';
import type { Arm } from '../accumulate/observation.js';
import { compileSpanNameGlob } from './span-name-glob.js';

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
  readonly errors: ErrorClassifier;
  matchesSpan(span: DecodedSpan): boolean;
  matchesPoint(point: DecodedMetricPoint): boolean;
  /** The span's join key, or undefined when it has none. */
  correlationKeyOfSpan(span: DecodedSpan): string | undefined;
  correlationKeyOfLog(record: DecodedFlagEvaluation): string | undefined;
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

function keyText(value: AttributeValue | undefined): string | undefined {
  return variantText(value);
}

export function compileAnalysis(analysis: Analysis): AnalysisRule {
  const { match, variant, correlation } = analysis;
  const spanName = match.spanName === undefined ? undefined : compileSpanNameGlob(match.spanName);
  const spanKind = match.spanKind === undefined ? undefined : KIND_NUMBERS[match.spanKind];
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
    errors: compileErrorRule(analysis.errors),
    matchesSpan(span) {
      if (match.metric !== undefined) return false;
      if (match.service !== undefined && span.resource.serviceName !== match.service) return false;
      if (spanKind !== undefined && span.kind !== spanKind) return false;
      return spanName === undefined || spanName(span.name);
    },
    matchesPoint(point) {
      if (point.metricName !== match.metric) return false;
      return match.service === undefined || point.resource.serviceName === match.service;
    },
    correlationKeyOfSpan(span) {
      if (joinsByTrace) return span.traceId === '' ? undefined : span.traceId;
      return keyText(span.attributes[key] ?? span.resource.attributes[key]);
    },
    correlationKeyOfLog(record) {
      if (joinsByTrace) return record.traceId === '' ? undefined : record.traceId;
      return keyText(record.attributes[key] ?? record.resource.attributes[key]);
    },
    learnedFromSpan(span, evaluations) {
      if (flag !== undefined) return variantsOfFlag(evaluations, flag);
      const value = variantText(span.attributes[attribute as string]);
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
