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

  /** POST /api/v1/analyses: starts an analysis, as a rollout controller does when a rollout begins. */
  async createAnalysis(analysis: AnalysisInput): Promise<void> {
    const result = await httpCall(this.agent, `${this.apiUrl}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(analysis),
    });
    if (result.status !== 201) throw new Error(`POST /api/v1/analyses: ${result.status} ${result.body}`);
  }

  /** GET /api/v1/analyses/{id}: the verdict with its evidence (arms, metrics). */
  async analysis(id: string): Promise<VerdictDocument> {
    const result = await httpCall(this.agent, this.analysisUrl(id));
    if (result.status !== 200)
      throw new Error(`GET ${this.analysisUrl(id)}: ${result.status} ${result.body}`);
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
