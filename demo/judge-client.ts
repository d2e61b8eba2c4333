// Reads the judge's verdict the way a rollout controller or a person would: over the sidecar's HTTP API.
// The demo shows and acts on nothing else, so what it prints is exactly what canary-judge decided.
import type { AnalysisInput } from '../src/config/analysis.js';
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import { httpCall, keepAliveAgent } from './http-call.js';

export class JudgeClient {
  private readonly agent = keepAliveAgent();

  constructor(readonly apiUrl: string) {}

  analysisUrl(id: string): string {
    return `${this.apiUrl}/api/v1/analyses/${encodeURIComponent(id)}`;
  }

  /** The run of one revision: GET it for the verdict with its evidence, PUT it to start it or declare a stage. */
  runUrl(id: string, revision: string): string {
    return `${this.analysisUrl(id)}/runs/${encodeURIComponent(revision)}`;
  }

  /** POST /api/v1/analyses: defines the analysis (once; every rollout of the flag is a run of it). */
  async defineAnalysis(analysis: AnalysisInput): Promise<void> {
    const result = await httpCall(this.agent, `${this.apiUrl}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(analysis),
    });
    if (result.status !== 201) throw new Error(`POST /api/v1/analyses: ${result.status} ${result.body}`);
  }

  /**
   * PUT /api/v1/analyses/{id}/runs/{revision} with the stage's weight, as a rollout controller does at each
   * weight step: the first call starts the run, each new weight declares its next stage.
   */
  async stage(id: string, revision: string, canaryWeight: number): Promise<void> {
    const result = await httpCall(this.agent, this.runUrl(id, revision), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canaryWeight }),
    });
    if (result.status !== 200 && result.status !== 201) {
      throw new Error(`PUT ${this.runUrl(id, revision)}: ${result.status} ${result.body}`);
    }
  }

  /** GET the run: the verdict with its evidence (stages, arms, metrics). */
  async run(id: string, revision: string): Promise<VerdictDocument> {
    const url = this.runUrl(id, revision);
    const result = await httpCall(this.agent, url);
    if (result.status !== 200) throw new Error(`GET ${url}: ${result.status} ${result.body}`);
    return JSON.parse(result.body) as VerdictDocument;
  }

  /** The /metrics lines of one analysis's verdict-level series, to show where to look. */
  async metricLines(id: string, names: string[]): Promise<string[]> {
    const result = await httpCall(this.agent, `${this.apiUrl}/metrics`);
    return result.body
      .split('\n')
      .filter((line) => names.some((name) => line.startsWith(`${name}{`)) && line.includes(`"${id}"`));
  }

  close(): void {
    this.agent.destroy();
  }
}
