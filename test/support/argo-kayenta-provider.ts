// Argo Rollouts' `kayenta` metric provider, transcribed from argoproj/argo-rollouts
// metricproviders/kayenta/kayenta.go at commit 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d (getCanaryConfigId, Run,
// Resume, evaluateResult, getScopeRequest, getStartTime, scopeToScopeRequest):
// - Run: GET {address}/canaryConfig?application=A&configurationAccountName=<storageAccountName> (sic: the
//   storage account goes in that parameter), exactly 200 and a JSON array; the first entry named
//   canaryConfigName gives the id ("Canary config not found" otherwise). Then POST
//   {address}/canary/{id}?application=&metricsAccountName=&configurationAccountName=&storageAccountName= with
//   {scopes: {name: {controlScope, experimentScope}}, thresholds: {pass, marginal}}; each scope is
//   {scope, location (from region), step, start, end} with start = run start (lookback) or now - interval and
//   end = now (RFC 3339, whole seconds) when unset. Exactly 200; canaryExecutionId read as fmt "%v". The
//   measurement is Running, resumed 15 s later.
// - Resume: GET {address}/canary/{canaryExecutionId} (no query), exactly 200; `complete` missing is an Error,
//   false keeps it Running for another 15 s; true reads result.judgeResult.score.score ("Missing Score" when
//   absent), truncated to an int: >= pass Successful, >= marginal Inconclusive, else Failed.
// Query values are put in with fmt.Sprintf: not URL-escaped. The HTTP client timeout is 15 s.
import type { Measurement, MeasurementProvider, Metric } from './argo-analysis.js';
import { parseDurationMs } from './argo-analysis.js';

interface ScopeDetail {
  scope: string;
  region?: string;
  step?: number;
  start?: string;
  end?: string;
}

export interface KayentaMetric {
  address: string;
  application: string;
  canaryConfigName: string;
  metricsAccountName: string;
  configurationAccountName: string;
  storageAccountName: string;
  threshold: { pass: number; marginal: number };
  scopes: Array<{ name: string; controlScope: ScopeDetail; experimentScope: ScopeDetail }>;
  lookback?: boolean;
}

const RESUME_DELAY_MS = 15_000;
const HTTP_TIMEOUT_MS = 15_000;

/** time.RFC3339 of a metav1.Time: UTC, whole seconds. */
const rfc3339 = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** kayenta.go evaluateResult. */
export function phaseOfScore(score: number, pass: number, marginal: number): Measurement['phase'] {
  if (score >= pass) return 'Successful';
  if (score < pass && score >= marginal) return 'Inconclusive';
  return 'Failed';
}

const markError = (measurement: Measurement, nowMs: number, message: string): Measurement => ({
  ...measurement,
  phase: 'Error',
  message,
  finishedAtMs: nowMs,
});

export class KayentaMetricProvider implements MeasurementProvider {
  /** Every URL requested, in order, for tests that check the calls themselves. */
  readonly calls: Array<{ method: string; url: string; body?: string }> = [];

  constructor(private readonly analysisRunStartedAtMs: number) {}

  private async request(
    method: string,
    url: string,
    body?: string,
  ): Promise<{ status: number; text: string }> {
    this.calls.push({ method, url, body });
    const response = await fetch(url, {
      method,
      body,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    return { status: response.status, text: await response.text() };
  }

  async run(metric: Metric, nowMs: number): Promise<Measurement> {
    const measurement: Measurement = { phase: 'Running', startedAtMs: nowMs };
    const k = metric.provider.kayenta as KayentaMetric;
    try {
      const lookup = await this.request(
        'GET',
        `${k.address}/canaryConfig?application=${k.application}&configurationAccountName=${k.storageAccountName}`,
      );
      if (lookup.status !== 200)
        return markError(measurement, nowMs, `Invalid Response: HTTP ${lookup.status}`);
      const configs = JSON.parse(lookup.text) as Array<Record<string, unknown>>;
      if (!Array.isArray(configs))
        return markError(measurement, nowMs, 'json: cannot unmarshal into []canaryConfig');
      // encoding/json matches field names case-insensitively: `Name`/`name`, `Id`/`id`.
      const config = configs.find((entry) => entry.name === k.canaryConfigName);
      if (!config) return markError(measurement, nowMs, 'Canary config not found');
      const scopes: Record<string, unknown> = {};
      for (const scope of k.scopes) {
        const startSet = Boolean(scope.controlScope.start);
        if (startSet !== Boolean(scope.experimentScope.start)) {
          return markError(
            measurement,
            nowMs,
            'controlScope.start and experimentScope.start must both be set or be empty',
          );
        }
        if (Boolean(scope.controlScope.end) !== Boolean(scope.experimentScope.end)) {
          return markError(
            measurement,
            nowMs,
            'controlScope.end and experimentScope.end must both be set or be empty',
          );
        }
        // getScopeRequest: an unset start (both unset) is the run's start (lookback) or now - interval; an unset
        // end is now. Set values are kept; empty ones are omitted (omitempty).
        let start: string | undefined;
        if (!startSet) {
          if (k.lookback) start = rfc3339(this.analysisRunStartedAtMs);
          else if (!metric.interval)
            return markError(measurement, nowMs, 'Invalid duration "": time: invalid duration ""');
          else start = rfc3339(nowMs - parseDurationMs(metric.interval));
        }
        const end = scope.controlScope.end ? undefined : rfc3339(nowMs);
        const detail = (d: ScopeDetail) => {
          const dStart = d.start || start;
          const dEnd = d.end || end;
          return {
            scope: d.scope,
            location: d.region ?? '',
            step: d.step ?? 0,
            ...(dStart ? { start: dStart } : {}),
            ...(dEnd ? { end: dEnd } : {}),
          };
        };
        scopes[scope.name] = {
          controlScope: detail(scope.controlScope),
          experimentScope: detail(scope.experimentScope),
        };
      }
      const body = JSON.stringify({
        scopes,
        thresholds: { pass: k.threshold.pass, marginal: k.threshold.marginal },
      });
      const job = await this.request(
        'POST',
        `${k.address}/canary/${String(config.id)}?application=${k.application}&metricsAccountName=${k.metricsAccountName}&configurationAccountName=${k.configurationAccountName}&storageAccountName=${k.storageAccountName}`,
        body,
      );
      if (job.status !== 200) return markError(measurement, nowMs, 'Invalid Response');
      const data = JSON.parse(job.text) as Record<string, unknown>;
      const id = data.canaryExecutionId === undefined ? '<nil>' : String(data.canaryExecutionId);
      if (id.length === 0) return markError(measurement, nowMs, 'Invalid canaryExecutionId');
      return { ...measurement, metadata: { canaryExecutionId: id }, resumeAtMs: nowMs + RESUME_DELAY_MS };
    } catch (error) {
      return markError(measurement, nowMs, (error as Error).message);
    }
  }

  async resume(metric: Metric, measurement: Measurement, nowMs: number): Promise<Measurement> {
    const k = metric.provider.kayenta as KayentaMetric;
    try {
      const poll = await this.request(
        'GET',
        `${k.address}/canary/${measurement.metadata?.canaryExecutionId}`,
      );
      if (poll.status !== 200) return markError(measurement, nowMs, 'Invalid Response');
      const patch = JSON.parse(poll.text) as Record<string, unknown>;
      if (typeof patch.complete !== 'boolean')
        return markError(measurement, nowMs, 'Missing Complete Status');
      if (!patch.complete) return { ...measurement, phase: 'Running', resumeAtMs: nowMs + RESUME_DELAY_MS };
      const score = (patch.result as { judgeResult?: { score?: { score?: unknown } } } | undefined)
        ?.judgeResult?.score?.score;
      if (typeof score !== 'number') return markError(measurement, nowMs, 'Missing Score');
      const truncated = Math.trunc(score);
      return {
        ...measurement,
        value: String(truncated),
        phase: phaseOfScore(truncated, k.threshold.pass, k.threshold.marginal),
        finishedAtMs: nowMs,
      };
    } catch (error) {
      return markError(measurement, nowMs, (error as Error).message);
    }
  }
}
