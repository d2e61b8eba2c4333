// The end-of-demo summary: what the judge decided, how fast, what it cost, and where to look.
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import type { ReceivedWebhook } from './flag-service.js';
import type { TrafficCounts } from './load-driver.js';
import type { DemoMode } from './profile.js';

export interface DemoOutcome {
  mode: DemoMode;
  verdict: VerdictDocument | undefined;
  flagPercent: number;
  rolledBack: boolean;
  webhooks: ReceivedWebhook[];
  rolloutStartedAtMs: number;
  /** Bad mode: when the new flow started to regress. */
  regressionAtMs?: number;
  /** When the judge reached its final verdict (the verdict document's updatedAt). */
  decidedAtMs?: number;
  /** When the flag service changed the flag because of that verdict. */
  flagActedAtMs?: number;
  /** Bad mode: new-flow requests answered after the regression began. */
  exposedRequests: number;
  traffic: TrafficCounts;
  urls: { analysis: string; verdict: string; history: string; metrics: string; report: string };
  metricLines: string[];
}

const seconds = (ms: number) =>
  Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;

/** Bad mode: regression -> verdict; healthy mode: rollout start -> verdict. */
export function timeToDecideMs(outcome: DemoOutcome): number | undefined {
  if (outcome.decidedAtMs === undefined) return undefined;
  const from = outcome.mode === 'bad' ? outcome.regressionAtMs : outcome.rolloutStartedAtMs;
  return from === undefined ? undefined : outcome.decidedAtMs - from;
}

export function renderSummary(outcome: DemoOutcome, keepHint: boolean): string {
  const doc = outcome.verdict;
  const lines: string[] = [
    '',
    `== canary-judge verdict: ${(doc?.verdict ?? 'none').toUpperCase()} -> ${doc?.action ?? '-'} ==`,
  ];
  if (doc) lines.push(`  reason:           ${doc.reason}`);
  const decide = timeToDecideMs(outcome);
  if (outcome.mode === 'bad') {
    lines.push(
      decide !== undefined
        ? `  time to detect:   ${seconds(decide)} after the new flow started to regress`
        : '  time to detect:   not detected',
    );
    lines.push(
      `  exposed:          ${outcome.exposedRequests} requests served by the degraded new flow (of ${outcome.traffic.newFlow.requests} new-flow requests in all)`,
    );
  } else if (decide !== undefined) {
    lines.push(`  time to decide:   ${seconds(decide)} after the rollout started`);
  }
  const signed = outcome.webhooks.filter((w) => w.verified);
  const acted = outcome.webhooks.find((w) => w.applied === 'rollback' || w.applied === 'promote');
  if (acted && outcome.flagActedAtMs !== undefined && outcome.decidedAtMs !== undefined) {
    lines.push(
      `  flag:             ${acted.applied === 'rollback' ? 'rolled back' : 'promoted'} to ${outcome.flagPercent}% by the signed webhook (${signed.length} of ${outcome.webhooks.length} deliveries verified), ${seconds(outcome.flagActedAtMs - outcome.decidedAtMs)} after the verdict`,
    );
  } else {
    lines.push(`  flag:             ${outcome.flagPercent}% (no verdict webhook acted on it)`);
  }
  lines.push(
    `  shop traffic:     ${outcome.traffic.classic.requests} classic (${outcome.traffic.classic.errors} errors), ${outcome.traffic.newFlow.requests} new (${outcome.traffic.newFlow.errors} errors)${outcome.traffic.failedCalls > 0 ? `, ${outcome.traffic.failedCalls} unanswered` : ''}`,
    '',
    keepHint
      ? 'Where to look (the sidecar is still running; Ctrl-C to stop):'
      : 'Where to look (while a demo runs; `npm run demo -- --keep` keeps the sidecar up afterwards):',
    `  report page           ${outcome.urls.report}   (open in a browser)`,
    `  verdict and evidence  curl ${outcome.urls.analysis}`,
    `  compact verdict       curl ${outcome.urls.verdict}`,
    `  verdict history       curl ${outcome.urls.history}`,
    `  Prometheus            curl ${outcome.urls.metrics}`,
    ...outcome.metricLines.map((line) => `    ${line}`),
  );
  return lines.join('\n');
}
