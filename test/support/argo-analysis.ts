// Argo Rollouts' AnalysisRun machinery for one metric, transcribed from argoproj/argo-rollouts at commit
// 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d:
// - utils/analysis/factory.go: BuildArgumentsForRolloutAnalysisRun (podTemplateHashValue), ResolveMetricArgs,
//   ValidateMetric; utils/analysis/helpers.go: MergeArgs, ResolveArgs;
// - utils/template/template.go: ResolveArgs / ResolveQuotedArgs (fasttemplate {{args.NAME}}, tags trimmed,
//   values escaped like strconv.Quote without the quotes);
// - analysis/analysis.go: resolveArgs (secretKeyRef args), generateMetricTasks (when the next measurement is
//   due), runMeasurements (the counters), assessMetricStatus and assessMetricFailureInconclusiveOrError;
// - pkg/apis/rollouts/v1alpha1/analysis_types.go: Metric.EffectiveCount; utils/defaults: consecutiveErrorLimit 4.
// Time is the caller's (a fake clock in ms); a measurement's HTTP call takes no time on it.
import type { AnalysisPhase } from './argo-conditions.js';

export interface Argument {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    podTemplateHashValue?: 'Latest' | 'Stable';
  };
}

export interface Metric {
  name: string;
  interval?: string;
  initialDelay?: string;
  count?: number;
  failureLimit?: number;
  inconclusiveLimit?: number;
  consecutiveErrorLimit?: number;
  consecutiveSuccessLimit?: number;
  successCondition?: string;
  failureCondition?: string;
  provider: Record<string, unknown>;
}

export interface Measurement {
  phase: AnalysisPhase;
  value?: string;
  message?: string;
  startedAtMs: number;
  finishedAtMs?: number;
  resumeAtMs?: number;
  metadata?: Record<string, string>;
}

export interface MetricResult {
  measurements: Measurement[];
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  consecutiveSuccess: number;
}

/** DefaultErrorRetryInterval: a measurement after an Error is retried after 10 s, whatever the interval. */
export const ERROR_RETRY_INTERVAL_MS = 10_000;
/** utils/defaults DefaultConsecutiveErrorLimit. */
const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;

export const isCompleted = (phase: AnalysisPhase): boolean =>
  phase === 'Successful' || phase === 'Failed' || phase === 'Inconclusive' || phase === 'Error';

/** A Go duration of the forms the templates use ("30s", "1m", "1m30s", "500ms"). */
export function parseDurationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g, (_match, amount: string, unit: string) => {
    total += Number(amount) * units[unit];
    return '';
  });
  if (rest !== '' || text === '') throw new Error(`invalid duration "${text}"`);
  return total;
}

/** BuildArgumentsForRolloutAnalysisRun: podTemplateHashValue Latest/Stable become the ReplicaSets' hashes. */
export function buildRolloutArguments(
  args: readonly Argument[],
  hashes: { latest: string; stable: string },
): Argument[] {
  return args.map((arg) => {
    const from = arg.valueFrom?.podTemplateHashValue;
    if (from) return { name: arg.name, value: from === 'Latest' ? hashes.latest : hashes.stable };
    return { name: arg.name, value: arg.value ?? '' };
  });
}

/** MergeArgs: the template's args, with values (or valueFrom) given by the rollout; all must be resolved. */
export function mergeArgs(incoming: readonly Argument[], templateArgs: readonly Argument[]): Argument[] {
  const merged = templateArgs.map((arg) => ({ ...arg }));
  for (const arg of incoming) {
    const target = merged.find((candidate) => candidate.name === arg.name);
    if (!target) continue;
    if (arg.value !== undefined) target.value = arg.value;
    else if (arg.valueFrom !== undefined) target.valueFrom = arg.valueFrom;
  }
  const unresolved = merged.find((arg) => arg.value === undefined && arg.valueFrom === undefined);
  if (unresolved) throw new Error(`args.${unresolved.name} was not resolved`);
  return merged;
}

/** analysis.go resolveArgs: secretKeyRef args take the Secret's value (per measurement). */
export function resolveSecretArgs(
  args: readonly Argument[],
  secret: (name: string, key: string) => string | undefined,
): Argument[] {
  return args.map((arg) => {
    const ref = arg.valueFrom?.secretKeyRef;
    if (!ref) return arg;
    const value = secret(ref.name, ref.key);
    if (value === undefined) throw new Error(`key '${ref.key}' does not exist in secret '${ref.name}'`);
    return { name: arg.name, value, valueFrom: arg.valueFrom };
  });
}

/** strconv.Quote(value) without its quotes: what ResolveQuotedArgs substitutes into the metric's JSON. */
export function goQuoteInner(value: string): string {
  const named: Record<string, string> = {
    '"': '\\"',
    '\\': '\\\\',
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
  };
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (named[char]) out += named[char];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return out;
}

/** template.go ResolveArgs over a text: every {{ tag }} (trimmed) must be a supplied `args.NAME`. */
export function resolveArgsText(text: string, args: readonly Argument[]): string {
  const values = new Map<string, string>();
  for (const arg of args) {
    if (arg.value === undefined) throw new Error(`argument "${arg.name}" was not supplied`);
    values.set(`args.${arg.name}`, arg.value);
  }
  let unresolved: Error | undefined;
  const resolved = text.replace(/\{\{(.*?)\}\}/g, (_match, tag: string) => {
    const value = values.get(tag.trim());
    if (value !== undefined) return value;
    unresolved = new Error(`failed to resolve {{${tag}}}`);
    return '';
  });
  if (unresolved) throw unresolved;
  return resolved;
}

/** ResolveMetricArgs: marshal the metric to JSON, substitute the quoted args, unmarshal. */
export function resolveMetricArgs(metric: Metric, args: readonly Argument[]): Metric {
  const quoted = args.map((arg) =>
    arg.value === undefined ? arg : { ...arg, value: goQuoteInner(arg.value) },
  );
  return JSON.parse(resolveArgsText(JSON.stringify(metric), quoted)) as Metric;
}

/** ValidateMetric (limits, count and interval; the provider count is not transcribed). */
export function validateMetric(metric: Metric): string | undefined {
  const count = metric.count ?? 0;
  const failureLimit = metric.failureLimit ?? 0;
  const successLimit = metric.consecutiveSuccessLimit ?? 0;
  const inconclusiveLimit = metric.inconclusiveLimit ?? 0;
  if (successLimit < 0) return 'consecutiveSuccessLimit must be >= 0';
  if (failureLimit < -1) return 'failureLimit must be >= 0, or -1 to be disabled';
  if (successLimit === 0 && failureLimit === -1)
    return 'failureLimit and consecutiveSuccessLimit cannot both be disabled';
  if (inconclusiveLimit < 0) return 'inconclusiveLimit must be >= 0';
  if ((metric.consecutiveErrorLimit ?? 0) < 0) return 'consecutiveErrorLimit must be >= 0';
  if (count > 0) {
    if (failureLimit >= 0 && count < failureLimit + successLimit)
      return `count (${count}) must be >= failureLimit + consecutiveSuccessLimit`;
    if (failureLimit < 0 && count < successLimit) return 'count must be >= consecutiveSuccessLimit';
    if (count < inconclusiveLimit) return 'count must be >= inconclusiveLimit';
  }
  if (count > 1 && !metric.interval) return 'interval must be specified when count > 1';
  return undefined;
}

/** Metric.EffectiveCount: count; or 1 without count and interval; or null (indefinite) with interval only. */
export function effectiveCount(metric: Metric): number | null {
  if (!metric.count) return metric.interval ? null : 1;
  return metric.count;
}

export function newMetricResult(): MetricResult {
  return {
    measurements: [],
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
  };
}

/** runMeasurements: a completed measurement updates the counters (an Error does not count toward count). */
export function recordMeasurement(result: MetricResult, measurement: Measurement, resumed: boolean): void {
  if (resumed) result.measurements[result.measurements.length - 1] = measurement;
  else result.measurements.push(measurement);
  switch (measurement.phase) {
    case 'Successful':
      Object.assign(result, {
        successful: result.successful + 1,
        count: result.count + 1,
        consecutiveError: 0,
        consecutiveSuccess: result.consecutiveSuccess + 1,
      });
      break;
    case 'Failed':
    case 'Inconclusive': {
      const counter = measurement.phase === 'Failed' ? 'failed' : 'inconclusive';
      result[counter] += 1;
      Object.assign(result, { count: result.count + 1, consecutiveError: 0, consecutiveSuccess: 0 });
      break;
    }
    case 'Error':
      Object.assign(result, {
        error: result.error + 1,
        consecutiveError: result.consecutiveError + 1,
        consecutiveSuccess: 0,
      });
      break;
    default:
      break; // Running/Pending: not completed, no counter
  }
}

/** assessMetricFailureInconclusiveOrError: each check overrides the one before (Error > Inconclusive > Failed). */
function failureInconclusiveOrError(metric: Metric, result: MetricResult): AnalysisPhase | undefined {
  let phase: AnalysisPhase | undefined;
  const failureLimit = metric.failureLimit ?? 0;
  if (failureLimit >= 0 && result.failed > failureLimit) phase = 'Failed';
  if (result.inconclusive > (metric.inconclusiveLimit ?? 0)) phase = 'Inconclusive';
  const errorLimit = metric.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT;
  if (result.consecutiveError > errorLimit) phase = 'Error';
  return phase;
}

/** assessMetricStatus for a metric whose phase is not completed yet. */
export function assessMetricStatus(metric: Metric, result: MetricResult, terminating = false): AnalysisPhase {
  const last = result.measurements[result.measurements.length - 1];
  if (!last) return terminating ? 'Successful' : 'Pending';
  if (!isCompleted(last.phase)) return 'Running';
  const limited = failureInconclusiveOrError(metric, result);
  if (limited) return limited;
  const successLimit = metric.consecutiveSuccessLimit ?? 0;
  if (successLimit > 0 && result.consecutiveSuccess >= successLimit) return 'Successful';
  const count = effectiveCount(metric);
  if (count !== null && result.count >= count) {
    const failureApplicable = (metric.failureLimit ?? 0) >= 0;
    const successApplicable = successLimit > 0;
    if (failureApplicable && successApplicable) return 'Inconclusive';
    if (successApplicable) return 'Failed';
    return 'Successful';
  }
  return terminating ? 'Successful' : 'Running';
}

/**
 * generateMetricTasks: when the metric's next measurement (or the resumption of a running one) is due, or
 * undefined when none will be (count reached). The first is due at the run's start plus initialDelay.
 */
export function nextMeasurementAtMs(
  metric: Metric,
  result: MetricResult,
  runStartedAtMs: number,
): number | undefined {
  const last = result.measurements[result.measurements.length - 1];
  if (!last) return runStartedAtMs + (metric.initialDelay ? parseDurationMs(metric.initialDelay) : 0);
  if (last.finishedAtMs === undefined) return last.resumeAtMs ?? last.startedAtMs;
  const count = effectiveCount(metric);
  if (count !== null && result.count >= count) return undefined;
  const interval =
    last.phase === 'Error' || !metric.interval ? ERROR_RETRY_INTERVAL_MS : parseDurationMs(metric.interval);
  return last.finishedAtMs + interval;
}

/** A provider's Run (a new measurement) and Resume (an in-flight one), at `nowMs`. */
export interface MeasurementProvider {
  run(metric: Metric, nowMs: number): Promise<Measurement>;
  resume?(metric: Metric, measurement: Measurement, nowMs: number): Promise<Measurement>;
}

export interface MetricOutcome {
  phase: AnalysisPhase;
  result: MetricResult;
  endedAtMs: number;
}

/**
 * One metric of one AnalysisRun, measured until its phase completes: before each measurement `before(fromMs,
 * toMs)` lets the world move on (traffic flows, the judge ticks) over the time since the last one. The args are
 * re-resolved per measurement (secrets included), as runMeasurements does.
 */
export async function runMetric(
  template: Metric,
  resolveArgs: () => Argument[],
  provider: MeasurementProvider,
  startedAtMs: number,
  before: (fromMs: number, toMs: number) => Promise<void>,
): Promise<MetricOutcome> {
  const result = newMetricResult();
  let nowMs = startedAtMs;
  for (;;) {
    const dueMs = nextMeasurementAtMs(template, result, startedAtMs);
    if (dueMs === undefined) throw new Error('no measurement due, yet the metric is not completed');
    await before(nowMs, dueMs);
    nowMs = dueMs;
    const metric = resolveMetricArgs(template, resolveArgs());
    const last = result.measurements[result.measurements.length - 1];
    const resumed = last !== undefined && last.finishedAtMs === undefined;
    const measurement =
      resumed && provider.resume
        ? await provider.resume(metric, last, nowMs)
        : await provider.run(metric, nowMs);
    recordMeasurement(result, measurement, resumed);
    const phase = assessMetricStatus(template, result);
    if (isCompleted(phase)) return { phase, result, endedAtMs: nowMs };
  }
}
