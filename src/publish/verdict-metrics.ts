// Prometheus series of every analysis's verdict and evidence, for Grafana dashboards and alerts.
// Cardinality is bounded by the number of analyses (judge.maxAnalyses); a stopped analysis's series are removed.
// Only the verdict and the always-valid p-value are safe to alert or gate on. Fixed-horizon p-values are
// exported under a name that says they are descriptive (gating on them every 30 s false-fails 15-17% of A/A
// runs). No gauge uses the label name `quantile`, which Prometheus reserves for summaries: latency
// quantiles are labelled `q`.
import { createHash } from 'node:crypto';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Verdict } from '../judge/verdict.js';
import type { VerdictDocument } from '../judge/verdict-document.js';
import { type Decision, numeric } from '../stats/analysis-policy.js';

const VERDICTS: Verdict[] = ['running', 'pass', 'fail', 'inconclusive'];
/** Analyses' series set between two yields while /metrics is read take about this long at most (ms). */
const PUBLISH_SLICE_MS = 3;
const DECISIONS: Decision[] = ['running', 'pass', 'fail'];

export class VerdictMetrics {
  private readonly verdict: Gauge<'analysis' | 'verdict'>;
  private readonly samples: Gauge<'analysis' | 'arm'>;
  private readonly errorRate: Gauge<'analysis' | 'arm'>;
  private readonly latency: Gauge<'analysis' | 'arm' | 'q'>;
  private readonly alwaysValidPValue: Gauge<'analysis' | 'metric'>;
  private readonly descriptivePValue: Gauge<'analysis' | 'metric'>;
  private readonly effect: Gauge<'analysis' | 'metric' | 'bound'>;
  private readonly canaryShare: Gauge<'analysis'>;
  private readonly expectedShare: Gauge<'analysis'>;
  private readonly splitPValue: Gauge<'analysis'>;
  private readonly tolerance: Gauge<'analysis' | 'metric'>;
  private readonly metricSamples: Gauge<'analysis' | 'metric' | 'arm'>;
  private readonly minSamples: Gauge<'analysis' | 'metric'>;
  private readonly decision: Gauge<'analysis' | 'metric' | 'decision'>;
  private readonly stage: Gauge<'analysis'>;
  private readonly runInfo: Gauge<'analysis' | 'run_id' | 'revision' | 'attempt'>;
  /** The run each analysis's run_info series names now, to remove it when the next run starts. */
  private readonly infoLabels = new Map<
    string,
    Record<'analysis' | 'run_id' | 'revision' | 'attempt', string>
  >();
  private readonly tickSeconds: Histogram;
  private readonly sliceSeconds: Histogram;
  private readonly snapshotSeconds: Histogram;
  private readonly gauges: Gauge<string>[];
  private readonly series = new Map<
    string,
    Map<string, { gauge: Gauge<string>; labels: Record<string, string> }>
  >();
  /** A digest of what each analysis's series were last set from (a document that changes none is skipped). */
  private readonly setFrom = new Map<string, string>();
  /** The latest document of each analysis whose series are not yet set from it (see update). */
  private readonly pending = new Map<string, VerdictDocument>();
  private publishing: Promise<void> | undefined;

  constructor(registry: Registry) {
    // Every read of a gauge (a /metrics scrape, registry.metrics()) first sets the series of the documents
    // noted since the last read.
    const gauge = <L extends string>(config: { name: string; help: string; labelNames: L[] }) =>
      new Gauge<L>({ ...config, registers: [registry], collect: () => this.publishPending() });
    this.verdict = gauge({
      name: 'canary_judge_analysis_verdict',
      help: 'Current verdict of each analysis: 1 for the verdict it has, 0 for the others',
      labelNames: ['analysis', 'verdict'],
    });
    this.samples = gauge({
      name: 'canary_judge_arm_requests',
      help: 'Requests attributed to each arm of each analysis',
      labelNames: ['analysis', 'arm'],
    });
    this.errorRate = gauge({
      name: 'canary_judge_arm_error_ratio',
      help: 'Error rate of each arm (errors / requests)',
      labelNames: ['analysis', 'arm'],
    });
    this.latency = gauge({
      name: 'canary_judge_arm_latency_seconds',
      help: 'Latency quantile estimates of each arm (current stage), q = the quantile',
      labelNames: ['analysis', 'arm', 'q'],
    });
    this.alwaysValidPValue = gauge({
      name: 'canary_judge_metric_always_valid_p_value',
      help: 'Always-valid p-value (running minimum) of "canary worse than tolerance" per judged metric: the one that decides fail, valid however often it is read',
      labelNames: ['analysis', 'metric'],
    });
    this.descriptivePValue = gauge({
      name: 'canary_judge_metric_descriptive_fixed_horizon_p_value',
      help: "Fixed-horizon p-value per judged metric (the test is named in the API document), DESCRIPTIVE ONLY: not valid when checked repeatedly, never gate or alert on it; refreshed when the run's document is read through the API and when its verdict changes",
      labelNames: ['analysis', 'metric'],
    });
    this.effect = gauge({
      name: 'canary_judge_metric_effect',
      help: 'Effect of the canary per judged metric (difference for error rate, ratio for latency) and its anytime-valid bounds',
      labelNames: ['analysis', 'metric', 'bound'],
    });
    this.tickSeconds = new Histogram({
      name: 'canary_judge_judge_tick_duration_seconds',
      help: 'Duration of one judge tick (every running analysis evaluated once); compare with judge.tickIntervalMs',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.sliceSeconds = new Histogram({
      name: 'canary_judge_judge_slice_duration_seconds',
      help: "How long the judge's timer work (a tick or a snapshot, done in slices that yield) held the event loop at once: ingest and the API wait at most this long for the judge",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    this.snapshotSeconds = new Histogram({
      name: 'canary_judge_judge_snapshot_duration_seconds',
      help: "Wall time of one judge snapshot (every running run's evidence saved, in slices with rests between them), from its start to its end; compare with judge.snapshotIntervalMs",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.canaryShare = gauge({
      name: 'canary_judge_observed_canary_share_ratio',
      help: 'Observed share of requests in the canary arm',
      labelNames: ['analysis'],
    });
    this.expectedShare = gauge({
      name: 'canary_judge_expected_canary_share_ratio',
      help: "Canary share declared for the current stage of each analysis's run (absent when none is declared)",
      labelNames: ['analysis'],
    });
    this.splitPValue = gauge({
      name: 'canary_judge_traffic_split_always_valid_p_value',
      help: "Always-valid p-value (running minimum) of the run's traffic split against the declared shares, every checked stage stitched; the run fails at judge.srmAlpha",
      labelNames: ['analysis'],
    });
    this.tolerance = gauge({
      name: 'canary_judge_metric_effect_tolerance',
      help: 'The tolerance line in the units of canary_judge_metric_effect: 1 + tolerance for latency ratios, the tolerance for error-rate differences; a metric fails when its lower bound reaches it and passes when its upper bound stays below it',
      labelNames: ['analysis', 'metric'],
    });
    this.metricSamples = gauge({
      name: 'canary_judge_metric_samples',
      help: 'Samples per arm in the current stage as each judged metric counts them (requests for the error rate, latencies otherwise)',
      labelNames: ['analysis', 'metric', 'arm'],
    });
    this.minSamples = gauge({
      name: 'canary_judge_metric_min_samples',
      help: 'Samples per arm each judged metric needs in the current stage before it may pass',
      labelNames: ['analysis', 'metric'],
    });
    this.decision = gauge({
      name: 'canary_judge_metric_decision',
      help: 'Current decision of each judged metric: 1 for the decision it has (fail, pass, running), 0 for the others',
      labelNames: ['analysis', 'metric', 'decision'],
    });
    this.stage = gauge({
      name: 'canary_judge_run_stage',
      help: "Number of the current stage (weight step) of each analysis's latest run, from 1",
      labelNames: ['analysis'],
    });
    this.runInfo = gauge({
      name: 'canary_judge_run_info',
      help: 'The latest run of each analysis: always 1, labelled with its run id, revision and attempt',
      labelNames: ['analysis', 'run_id', 'revision', 'attempt'],
    });
    this.gauges = [
      this.verdict,
      this.samples,
      this.errorRate,
      this.latency,
      this.alwaysValidPValue,
      this.descriptivePValue,
      this.effect,
      this.canaryShare,
      this.expectedShare,
      this.splitPValue,
      this.tolerance,
      this.metricSamples,
      this.minSamples,
      this.decision,
      this.stage,
    ].map((gauge) => gauge as unknown as Gauge<string>);
  }

  /** One judge tick took `seconds` (the judge calls this at the end of every tick). */
  observeTick(seconds: number): void {
    this.tickSeconds.observe(seconds);
  }

  /** One judge snapshot took `seconds` of wall time, its rests included (the judge calls this at its end). */
  observeSnapshot(seconds: number): void {
    this.snapshotSeconds.observe(seconds);
  }

  /** One slice of the judge's timer work held the event loop for `seconds`. */
  observeSlice(seconds: number): void {
    this.sliceSeconds.observe(seconds);
  }

  /**
   * Notes `document` as the latest of `analysis`; its series are set from it when they are next read. Every
   * tick updates every running analysis, and setting its ~60 labelled series cost more than the decision at
   * 1 000 analyses, and made most of what a tick's young-generation garbage collections copy (each set makes
   * new objects in prom-client's series table): ticks come every 5 s, scrapes every 15-60 s, and a scrape sets
   * each analysis's series once from its latest document, in slices that yield (issue 13).
   */
  update(analysis: string, document: VerdictDocument): void {
    this.pending.set(analysis, document);
  }

  /**
   * Sets the series of the documents noted since the last read, yielding every ~PUBLISH_SLICE_MS; every
   * gauge read meanwhile waits for the same pass (documents noted during it are set by it too).
   */
  private publishPending(): Promise<void> | undefined {
    if (this.pending.size > 0)
      this.publishing ??= this.publishInSlices().finally(() => (this.publishing = undefined));
    return this.publishing;
  }

  private async publishInSlices(): Promise<void> {
    let sliceStarted = performance.now();
    // A Map's iterator also visits keys added during the pass: a document noted during a yield is set by it.
    for (const analysis of this.pending.keys()) {
      if (performance.now() - sliceStarted >= PUBLISH_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStarted = performance.now();
      }
      const document = this.pending.get(analysis); // the latest: it may have changed during the yield
      if (document === undefined) continue; // removed meanwhile
      this.pending.delete(analysis);
      this.setSeries(analysis, document);
    }
  }

  /** Sets every series of `analysis` from `document`. */
  private setSeries(analysis: string, document: VerdictDocument): void {
    // Most documents change few series. JSON's null for NaN and Infinity is no loss: the series below skip
    // non-finite values, or are p-values, counts and exported bounds (ReportedNumber). Kept as a digest: the
    // text is ~8 KB per analysis.
    const fingerprint = createHash('sha1')
      .update(
        JSON.stringify([
          document.verdict,
          document.runId,
          document.revision,
          document.attempt,
          document.stage,
          document.stages[document.stages.length - 1]?.canaryShare,
          document.arms,
          document.trafficSplit?.alwaysValidPValue,
          document.trafficSplit?.observedCanaryShare,
          document.metrics,
        ]),
      )
      .digest('base64');
    if (this.setFrom.get(analysis) === fingerprint) return;
    this.setFrom.set(analysis, fingerprint);
    for (const candidate of VERDICTS)
      this.set(this.verdict, { analysis, verdict: candidate }, candidate === document.verdict ? 1 : 0);
    this.setRunInfo(analysis, document);
    this.set(this.stage, { analysis }, document.stage);
    const declared = document.stages[document.stages.length - 1]?.canaryShare;
    if (declared === null || declared === undefined) this.expectedShare.remove({ analysis });
    else this.set(this.expectedShare, { analysis }, declared);
    if (!document.arms || !document.trafficSplit) return;
    this.set(this.splitPValue, { analysis }, document.trafficSplit.alwaysValidPValue);
    for (const arm of ['baseline', 'canary'] as const) {
      const summary = document.arms[arm];
      this.set(this.samples, { analysis, arm }, summary.requests);
      if (Number.isFinite(summary.errorRate)) this.set(this.errorRate, { analysis, arm }, summary.errorRate);
      for (const quantile of summary.quantiles) {
        if (Number.isFinite(quantile.estimateNanos)) {
          this.set(
            this.latency,
            { analysis, arm, q: String(quantile.quantile) },
            quantile.estimateNanos / 1e9,
          );
        }
      }
    }
    for (const metric of document.metrics) {
      this.set(this.alwaysValidPValue, { analysis, metric: metric.id }, metric.alwaysValidPValue);
      if (Number.isFinite(metric.fixedHorizon.pValue)) {
        this.set(this.descriptivePValue, { analysis, metric: metric.id }, metric.fixedHorizon.pValue);
      }
      const metric_ = { analysis, metric: metric.id };
      this.set(
        this.tolerance,
        metric_,
        metric.kind === 'error_rate' ? metric.tolerance : 1 + metric.tolerance,
      );
      this.set(this.minSamples, metric_, metric.minSamples);
      for (const arm of ['baseline', 'canary'] as const)
        this.set(this.metricSamples, { ...metric_, arm }, metric.samples[arm]);
      for (const candidate of DECISIONS)
        this.set(this.decision, { ...metric_, decision: candidate }, candidate === metric.decision ? 1 : 0);
      for (const bound of ['estimate', 'lower', 'upper'] as const) {
        // Prometheus carries +Inf, -Inf and NaN: an unbounded ratio is exported as +Inf, not left out.
        this.set(this.effect, { analysis, metric: metric.id, bound }, numeric(metric.effect[bound]));
      }
    }
    const share = numeric(document.trafficSplit.observedCanaryShare);
    if (Number.isFinite(share)) this.set(this.canaryShare, { analysis }, share);
  }

  /** One run_info series per analysis: the latest run's; the previous run's goes when a new one starts. */
  private setRunInfo(analysis: string, document: VerdictDocument): void {
    const labels = {
      analysis,
      run_id: document.runId,
      revision: document.revision,
      attempt: String(document.attempt),
    };
    const before = this.infoLabels.get(analysis);
    if (before && before.run_id !== labels.run_id) this.runInfo.remove(before);
    this.infoLabels.set(analysis, labels);
    this.runInfo.set(labels, 1);
  }

  /** Removes every series of an analysis (after it is stopped). */
  remove(analysis: string): void {
    this.pending.delete(analysis);
    this.setFrom.delete(analysis);
    const info = this.infoLabels.get(analysis);
    if (info) this.runInfo.remove(info);
    this.infoLabels.delete(analysis);
    for (const { gauge, labels } of this.series.get(analysis)?.values() ?? []) gauge.remove(labels);
    this.series.delete(analysis);
  }

  /** prom-client removes series only by their full label set, so each analysis's sets are remembered. */
  private set<L extends string>(
    gauge: Gauge<L>,
    labels: Record<L, string> & { analysis: string },
    value: number,
  ): void {
    gauge.set(labels, value);
    let sets = this.series.get(labels.analysis);
    if (!sets) this.series.set(labels.analysis, (sets = new Map()));
    const key = `${this.gauges.indexOf(gauge as unknown as Gauge<string>)}${JSON.stringify(labels)}`;
    if (!sets.has(key)) sets.set(key, { gauge: gauge as unknown as Gauge<string>, labels });
  }
}
