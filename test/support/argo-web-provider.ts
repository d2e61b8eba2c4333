// Argo Rollouts' `web` metric provider, transcribed from argoproj/argo-rollouts
// metricproviders/webmetric/webmetric.go at commit 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d (Run,
// parseResponse, getValue, NewWebMetricHttpClient), with utils/metric MarkMeasurementError.
// - method defaults to GET; body and jsonBody exclude each other and need POST or PUT (else Error);
// - every header is Set; jsonBody forces Content-Type: application/json; the client timeout is timeoutSeconds
//   (10 s when unset) over the whole request;
// - a transport error or any status outside 200-299 is an Error measurement ("received non 2xx response code");
// - a JSON body goes through jsonPath (only `{$}`, the whole document, is transcribed) and the first value is
//   `result`; a body that is not JSON is evaluated as a string (master; released versions <= 1.10 call it
//   Successful outright, which is why canary-judge always answers JSON);
// - the conditions decide the phase (argo-conditions.ts), an evaluation error is an Error measurement.
import { evaluateResult } from './argo-conditions.js';
import type { Measurement, MeasurementProvider, Metric } from './argo-analysis.js';

export interface WebMetric {
  method?: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Array<{ key: string; value: string }>;
  body?: string;
  jsonBody?: unknown;
  timeoutSeconds?: number;
  jsonPath?: string;
}

/** What the provider sent, for tests that check the request itself. */
export interface WebRequestRecord {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const markError = (measurement: Measurement, nowMs: number, message: string): Measurement => ({
  ...measurement,
  phase: 'Error',
  message,
  finishedAtMs: nowMs,
});

export class WebMetricProvider implements MeasurementProvider {
  readonly requests: WebRequestRecord[] = [];

  async run(metric: Metric, nowMs: number): Promise<Measurement> {
    const measurement: Measurement = { phase: 'Running', startedAtMs: nowMs };
    const web = metric.provider.web as WebMetric | undefined;
    if (!web) throw new Error(`metric ${metric.name} has no web provider`);
    const method = web.method ?? 'GET';
    const hasJsonBody = web.jsonBody !== undefined && web.jsonBody !== null;
    if (web.body && hasJsonBody) {
      return markError(
        measurement,
        nowMs,
        'use either Body or JSONBody; both cannot exists for WebMetric payload',
      );
    }
    if ((web.body || hasJsonBody) && method === 'GET') {
      return markError(
        measurement,
        nowMs,
        'Body/JSONBody can only be used with POST or PUT WebMetric Method types',
      );
    }
    // json.RawMessage MarshalJSON: the (compacted) JSON text as templated.
    const body = web.body ? web.body : hasJsonBody ? JSON.stringify(web.jsonBody) : undefined;
    const headers: Record<string, string> = {};
    for (const header of web.headers ?? []) headers[header.key.toLowerCase()] = header.value;
    if (hasJsonBody) headers['content-type'] = 'application/json';
    this.requests.push({ method, url: web.url, headers, body });
    const timeoutMs = (web.timeoutSeconds && web.timeoutSeconds > 0 ? web.timeoutSeconds : 10) * 1000;
    let response: Response;
    let text: string;
    try {
      response = await fetch(web.url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      text = await response.text();
    } catch (error) {
      return markError(measurement, nowMs, (error as Error).message);
    }
    if (response.status < 200 || response.status >= 300) {
      return markError(measurement, nowMs, `received non 2xx response code: ${response.status}`);
    }
    let result: unknown;
    try {
      result = JSON.parse(text) as unknown;
    } catch {
      const evaluated = evaluateResult(text, metric);
      return { ...measurement, ...evaluated, value: text, finishedAtMs: nowMs };
    }
    if ((web.jsonPath ?? '{$}') !== '{$}') throw new Error(`jsonPath ${web.jsonPath} is not transcribed`);
    const evaluated = evaluateResult(result, metric);
    if (evaluated.phase === 'Error') return markError(measurement, nowMs, evaluated.message ?? '');
    return { ...measurement, phase: evaluated.phase, value: JSON.stringify(result), finishedAtMs: nowMs };
  }
}
