// Spinnaker's Kayenta canary stage as it talks to Kayenta, transcribed from spinnaker/orca at commit
// 2fdb327a9f67345c4919e1503ff5119fa3c31caf, orca-kayenta/src/main/kotlin/com/netflix/spinnaker/orca/kayenta/:
// - tasks/ResolveKayentaConfigIdTask.kt: GET /canaryConfig (no query); exactly one config named canaryConfigName
//   whose applications contain the pipeline's application;
// - tasks/RunKayentaCanaryTask.kt + KayentaService.kt: POST /canary/{configId}?application=&
//   parentPipelineExecutionId=&metricsAccountName=&configurationAccountName=&storageAccountName= with
//   {scopes: {name: {controlScope, experimentScope}}, thresholds: {pass, marginal}, siteLocal}, each scope
//   {scope, location, start, end (ISO instants: the mapper disables WRITE_DATES_AS_TIMESTAMPS), step,
//   extendedScopeParams}; the answer's canaryExecutionId;
// - tasks/MonitorKayentaCanaryTask.kt: GET /canary/{id}?storageAccountName= every second; status SUCCEEDED:
//   score <= marginal is TERMINAL, else SUCCEEDED (with a warning when a metric had fewer than 50 control data
//   points, after GET /credentials when a metrics account is named); a halting status (TERMINAL, CANCELED,
//   STOPPED: orca-api ExecutionStatus) is TERMINAL; anything else RUNNING.
// KayentaService.kt's CanaryResults is a Kotlin data class read by jackson-module-kotlin: a missing non-null
// field fails the read (readCanaryResults checks the ones the monitor touches). Null query values are left out
// (retrofit @Query).

export interface SpinnakerScope {
  scope: string;
  location: string;
  start: string;
  end: string;
  step: number;
  extendedScopeParams: Record<string, string>;
}

export interface StageContext {
  application: string;
  canaryConfigName: string;
  metricsAccountName?: string;
  storageAccountName?: string;
  scopes: Record<string, { controlScope: SpinnakerScope; experimentScope: SpinnakerScope }>;
  scoreThresholds: { pass: number; marginal: number };
}

export type TaskStatus = 'SUCCEEDED' | 'TERMINAL' | 'RUNNING';

/** orca-api ExecutionStatus: [complete, halt]. */
const EXECUTION_STATUS: Record<string, [boolean, boolean]> = {
  NOT_STARTED: [false, false],
  RUNNING: [false, false],
  PAUSED: [false, false],
  SUSPENDED: [false, false],
  SUCCEEDED: [true, false],
  FAILED_CONTINUE: [true, false],
  TERMINAL: [true, true],
  CANCELED: [true, true],
  REDIRECT: [false, false],
  STOPPED: [true, true],
  SKIPPED: [true, false],
  BUFFERED: [false, false],
};

interface CanaryResults {
  complete: boolean;
  status: string;
  application: string;
  result: {
    judgeResult: {
      score: { score: number; classification: string; classificationReason: string };
      results: Array<{ controlMetadata: { stats: { count: number } } }>;
    };
  } | null;
}

function required(value: unknown, path: string): unknown {
  if (value === undefined || value === null) {
    throw new Error(`MissingKotlinParameterException: ${path} (a non-null field) is missing`);
  }
  return value;
}

/** Reads GET /canary/{id} as orca does (the non-null fields the monitor reads must be there). */
export function readCanaryResults(json: Record<string, unknown>): CanaryResults {
  required(json.complete, 'CanaryResults.complete');
  const status = required(json.status, 'CanaryResults.status') as string;
  if (!(status.toUpperCase() in EXECUTION_STATUS))
    throw new Error(`No enum constant ExecutionStatus.${status}`);
  required(json.application, 'CanaryResults.application');
  const result = json.result as CanaryResults['result'] | undefined;
  if (result) {
    const judge = required(result.judgeResult, 'CanaryResult.judgeResult') as Record<string, unknown>;
    const score = required(judge.score, 'JudgeResult.score') as Record<string, unknown>;
    for (const field of ['score', 'classification', 'classificationReason'])
      required(score[field], `JudgeScore.${field}`);
    const results = required(judge.results, 'JudgeResult.results') as Array<Record<string, unknown>>;
    results.forEach((entry, i) =>
      required(
        (entry.controlMetadata as { stats?: { count?: unknown } } | undefined)?.stats?.count,
        `JudgeResult.results[${i}].controlMetadata.stats.count`,
      ),
    );
  }
  return { ...(json as unknown as CanaryResults), result: result ?? null };
}

export class SpinnakerKayentaStage {
  canaryConfigId: string | undefined;
  canaryPipelineExecutionId: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly context: StageContext,
    private readonly pipelineExecutionId: string,
  ) {}

  private query(values: Record<string, string | undefined>): string {
    const present = Object.entries(values).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    );
    return new URLSearchParams(present).toString();
  }

  private async json(method: string, path: string, body?: object): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}: ${text}`);
    return JSON.parse(text) as unknown;
  }

  /** ResolveKayentaConfigIdTask. */
  async resolveConfigId(): Promise<string> {
    const { canaryConfigName: name, application } = this.context;
    const configs = (await this.json('GET', '/canaryConfig')) as Array<{
      id: string;
      name: string;
      applications: string[];
    }>;
    const candidates = configs.filter(
      (config) => config.name === name && config.applications.includes(application),
    );
    if (candidates.length === 0)
      throw new Error(
        `Couldn't find a canary configId for configName ${name} and application ${application}`,
      );
    if (candidates.length > 1)
      throw new Error(
        `Found more than one canary configId for configName ${name} and application ${application}`,
      );
    return (this.canaryConfigId = candidates[0].id);
  }

  /** RunKayentaCanaryTask. */
  async runCanary(): Promise<string> {
    const { context } = this;
    const query = this.query({
      application: context.application,
      parentPipelineExecutionId: this.pipelineExecutionId,
      metricsAccountName: context.metricsAccountName,
      configurationAccountName: undefined,
      storageAccountName: context.storageAccountName,
    });
    const answer = (await this.json('POST', `/canary/${this.canaryConfigId}?${query}`, {
      scopes: context.scopes,
      thresholds: context.scoreThresholds,
      siteLocal: {},
    })) as { canaryExecutionId: string };
    return (this.canaryPipelineExecutionId = answer.canaryExecutionId);
  }

  /** One execution of MonitorKayentaCanaryTask. */
  async monitor(): Promise<{ status: TaskStatus; canaryScore?: number; warnings?: string[] }> {
    const query = this.query({ storageAccountName: this.context.storageAccountName });
    const results = readCanaryResults(
      (await this.json(
        'GET',
        `/canary/${this.canaryPipelineExecutionId}${query ? `?${query}` : ''}`,
      )) as Record<string, unknown>,
    );
    const status = results.status.toUpperCase();
    if (status === 'SUCCEEDED') {
      const judge = required(results.result, 'result!!') as NonNullable<CanaryResults['result']>;
      const canaryScore = judge.judgeResult.score.score;
      const warnings = await this.resultWarnings(judge);
      return {
        status: canaryScore <= this.context.scoreThresholds.marginal ? 'TERMINAL' : 'SUCCEEDED',
        canaryScore,
        warnings,
      };
    }
    if (EXECUTION_STATUS[status][1]) return { status: 'TERMINAL' };
    return { status: 'RUNNING' };
  }

  private async resultWarnings(judge: NonNullable<CanaryResults['result']>): Promise<string[]> {
    let credentialType = '';
    if (this.context.metricsAccountName !== undefined) {
      const credentials = (await this.json('GET', '/credentials')) as Array<{ name: string; type: string }>;
      credentialType = credentials.find((c) => c.name === this.context.metricsAccountName)?.type ?? '';
    }
    const few = judge.judgeResult.results.some((entry) => entry.controlMetadata.stats.count < 50);
    return credentialType !== 'datadog' && few
      ? [
          'One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score.',
        ]
      : [];
  }
}
