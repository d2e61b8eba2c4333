// The demo, programmatically: a real canary-judge sidecar (in-process, free loopback ports, temp data
// dir), the flag service as its webhook receiver, the instrumented shop, the load and the rollout. It
// watches the judge's verdict over the API until it is final and the flag service has acted on the
// signed webhook, prints a summary, and stops everything it started. main.ts and the e2e tests both
// call this, so the tests exercise exactly what `npm run demo` runs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.js';
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import { startSidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FLAG_KEY, FlagService, type FlagChange } from './flag-service.js';
import { JudgeClient } from './judge-client.js';
import { LiveView, type StatusSnapshot } from './live-view.js';
import { LoadDriver } from './load-driver.js';
import { Narration } from './narration.js';
import {
  ALPHA,
  ANALYSIS_ID,
  demoAnalysis,
  LATENCY_QUANTILES,
  LATENCY_TOLERANCE,
  STANDARD_PROFILE,
  type DemoMode,
  type DemoProfile,
} from './profile.js';
import { screenshotRunReport, type ReportScreenshot } from './report-screenshots.js';
import { Rollout } from './rollout.js';
import { startShop } from './shop/shop.js';
import { renderSummary, type DemoOutcome } from './summary.js';

export interface DemoOptions {
  mode: DemoMode;
  profile?: DemoProfile;
  out?: Writable;
  /** Redraw in place; defaults to whether `out` is a terminal. */
  isTTY?: boolean;
  /** Called after the summary with everything still running (traffic stopped); `--keep` waits for Ctrl-C. */
  hold?: () => Promise<void>;
  /** Ends the demo early (Ctrl-C): it still prints what it has and stops everything it started. */
  signal?: AbortSignal;
  /** Save the run's report page, as headless chromium shows it once the verdict is final, to this PNG. */
  reportScreenshot?: string;
}

export interface DemoResult extends DemoOutcome {
  summary: string;
  /** With `reportScreenshot`: the page's URL and its console errors while it loaded (none expected). */
  report?: ReportScreenshot;
  /** This run's webhook secret (random per run), so tests can check the deliveries' signatures themselves. */
  webhookSecret: string;
}

const POLL_MS = 500;
/** After the verdict: how long to wait for the flag service to act, then to show traffic on the new flag. */
const WEBHOOK_WAIT_MS = 15_000;
const AFTERMATH_MS = 1_500;
const METRIC_NAMES = [
  'canary_judge_analysis_verdict',
  'canary_judge_arm_requests',
  'canary_judge_arm_error_ratio',
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The revision this rollout judges: the flag configuration being rolled out. */
const REVISION = `${FLAG_KEY}@v2`;

/** The demo ends on fail or inconclusive, or on a pass of the final stage (earlier passes let the rollout go on). */
function isFinalFor(document: VerdictDocument, finalPercent: number): boolean {
  if (document.verdict === 'running') return false;
  if (document.verdict !== 'pass') return true;
  const share = document.stages[document.stages.length - 1]?.canaryShare;
  return share !== null && share !== undefined && Math.round(share * 100) >= finalPercent;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const profile = options.profile ?? STANDARD_PROFILE;
  const out = options.out ?? process.stdout;
  const isTTY = options.isTTY ?? ('isTTY' in out && out.isTTY === true);
  const dataDir = mkdtempSync(join(tmpdir(), 'canary-judge-demo-'));
  const secret = randomBytes(24).toString('hex');
  const finalPercent = profile.stages[profile.stages.length - 1].percent;
  const flagService = new FlagService(secret, finalPercent);
  const cleanup: Array<() => Promise<void> | void> = [
    () => rmSync(dataDir, { recursive: true, force: true }),
  ];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const flagServiceUrl = await flagService.start();
    cleanup.push(() => flagService.stop());
    const config = parseConfig({
      otlp: { grpc: { port: 0 }, http: { port: 0 } },
      api: { port: 0 },
      storage: { path: join(dataDir, 'canary-judge.sqlite') },
      log: { level: 'silent' },
      judge: { tickIntervalMs: profile.judgeTickMs },
      // The flag service is the webhook receiver, on loopback beside it: allowed explicitly.
      webhookDelivery: { allowAddresses: ['127.0.0.1'] },
    });
    const sidecar = await startSidecar(config, { logger: createLogger('silent') });
    cleanup.push(() => sidecar.stop());
    const judge = new JudgeClient(`http://127.0.0.1:${sidecar.ports.api}`);
    cleanup.push(() => judge.close());
    const shop = await startShop({
      otlpGrpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
      exportDelayMs: profile.exportDelayMs,
      rolloutPercent: () => flagService.rolloutPercent,
      classic: profile.classic,
      newFlow: profile.newFlow,
    });
    cleanup.push(() => shop.stop());

    const view = new LiveView(out, isTTY);
    const runUrl = judge.runUrl(ANALYSIS_ID, REVISION);
    const stagesText = profile.stages.map((s) => `${s.percent}%`).join(' -> ');
    view.print(
      [
        `canary-judge demo (${options.mode === 'bad' ? 'a change that regresses' : 'a healthy change'}): rolling out new-checkout-flow ${stagesText} at ${profile.requestsPerSecond} req/s`,
        `  sidecar   OTLP gRPC ${`127.0.0.1:${sidecar.ports.grpc}`}, API ${judge.apiUrl} (data in ${dataDir})`,
        `  analysis  ${ANALYSIS_ID}: checkout's server spans; variant from the frontend's OpenFeature evaluations, joined by trace id (off = baseline, on = canary)`,
        `  judged    latency ${LATENCY_QUANTILES.map((q) => `p${q * 100}`).join('/')} (+${LATENCY_TOLERANCE * 100}% tolerated), error rate (+${profile.errorRateTolerance * 100} point${profile.errorRateTolerance === 0.01 ? '' : 's'} tolerated); anytime-valid, alpha ${ALPHA}, >= ${profile.minSamplesPerArm} per arm`,
        `  watch     curl ${runUrl}   (the run of this rollout's revision; created when it starts)`,
        '',
      ].join('\n'),
    );

    // Each stage is declared to the judge when the flag reaches it, so each weight step is judged on its own
    // evidence (and its traffic split checked against its share).
    const rollout = new Rollout(flagServiceUrl, profile.stages, (percent) =>
      judge.stage(ANALYSIS_ID, REVISION, percent),
    );
    const driver = new LoadDriver(shop.frontendUrl, profile.requestsPerSecond);
    cleanup.push(() => driver.stop());
    cleanup.push(() => rollout.stop());
    const narration = new Narration(view, rollout.stages.length);
    let flagChange: FlagChange | undefined;
    flagService.onChange((change) => {
      if (change.by !== 'rollout') flagChange = change;
      narration.flagChanged(
        change,
        rollout.stages.findIndex((s) => s.percent === change.percent),
      );
    });

    driver.start();
    view.print(`>> warming up the shop for ${profile.warmUpMs / 1000} s (flag at 0%, not judged)`);
    await sleep(options.signal?.aborted ? 0 : profile.warmUpMs);
    // The analysis is defined once; the rollout of this revision of the flag is judged by a run of it, which
    // the rollout starts with its first stage.
    await judge.defineAnalysis(
      demoAnalysis(profile, { url: `${flagServiceUrl}/webhooks/canary-judge`, secret }),
    );
    const startedAtMs = Date.now();
    await rollout.start();
    let regressionAtMs: number | undefined;
    if (options.mode === 'bad') {
      const timer = setTimeout(() => {
        shop.setNewFlowBehaviour(profile.regression.behaviour);
        driver.startCountingExposure();
        regressionAtMs = Date.now();
        const { medianMs, errorRate } = profile.regression.behaviour;
        view.print(
          `>> the new checkout flow regresses: median ${profile.newFlow.medianMs} -> ${medianMs} ms, errors ${profile.newFlow.errorRate * 100}% -> ${errorRate * 100}%`,
        );
      }, profile.regression.afterMs);
      cleanup.push(() => clearTimeout(timer));
    }

    const snapshot = (document: VerdictDocument | undefined): StatusSnapshot => ({
      elapsedMs: Date.now() - startedAtMs,
      stage: rollout.currentStage && {
        index: rollout.stageIndex,
        count: rollout.stages.length,
        percent: rollout.currentStage.percent,
      },
      flagPercent: flagService.rolloutPercent,
      rolledBack: flagService.rolledBack,
      regressing: regressionAtMs !== undefined,
      traffic: driver.counts,
      document,
      minSamplesPerArm: profile.minSamplesPerArm,
      alpha: ALPHA,
    });

    const deadlineMs = startedAtMs + profile.maxDurationSeconds * 1000 + WEBHOOK_WAIT_MS + 5_000;
    let document: VerdictDocument | undefined;
    let decidedAtMs: number | undefined;
    let settledAtMs: number | undefined;
    while (Date.now() < deadlineMs && !options.signal?.aborted) {
      await sleep(POLL_MS);
      narration.observe(await judge.run(ANALYSIS_ID, REVISION).catch(() => undefined));
      document = narration.document;
      if (document && isFinalFor(document, finalPercent) && decidedAtMs === undefined) {
        decidedAtMs = Date.parse(document.updatedAt);
        rollout.stop();
        narration.verdict(document);
      }
      view.update(snapshot(document));
      if (decidedAtMs === undefined) continue;
      settledAtMs ??= flagChange || Date.now() - decidedAtMs > WEBHOOK_WAIT_MS ? Date.now() : undefined;
      if (settledAtMs !== undefined && Date.now() - settledAtMs >= AFTERMATH_MS) break;
    }
    rollout.stop();
    await driver.stop();
    view.update(snapshot(document), true);
    view.release();

    const outcome: DemoOutcome = {
      mode: options.mode,
      verdict: document,
      flagPercent: flagService.rolloutPercent,
      rolledBack: flagService.rolledBack,
      webhooks: flagService.webhooks,
      rolloutStartedAtMs: startedAtMs,
      regressionAtMs,
      decidedAtMs,
      flagActedAtMs: flagChange?.atMs,
      exposedRequests: driver.exposedRequests,
      traffic: driver.counts,
      urls: {
        analysis: runUrl,
        verdict: `${runUrl}/verdict`,
        history: `${judge.apiUrl}/api/v1/runs/${document?.runId ?? '<run id>'}/history`,
        metrics: `${judge.apiUrl}/metrics`,
        report: `${judge.apiUrl}/runs/${document?.runId ?? '<run id>'}`,
      },
      metricLines: await judge.metricLines(ANALYSIS_ID, METRIC_NAMES).catch(() => []),
    };
    const summary = renderSummary(outcome, options.hold !== undefined);
    out.write(`${summary}\n`);
    let report: ReportScreenshot | undefined;
    if (options.reportScreenshot && document && document.verdict !== 'running') {
      report = await screenshotRunReport(
        judge.apiUrl,
        document.runId,
        document.verdict,
        options.reportScreenshot,
      );
      out.write(`\nReport page ${report.url} saved to ${report.file}\n`);
      for (const error of report.pageErrors) out.write(`  page error: ${error}\n`);
    }
    if (options.hold) await options.hold();
    return { ...outcome, summary, webhookSecret: secret, ...(report && { report }) };
  } finally {
    await stopAll();
  }
}
