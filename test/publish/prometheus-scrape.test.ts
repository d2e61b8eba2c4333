// A real Prometheus scrapes the sidecar: the verdict and evidence series a Grafana dashboard reads are
// there, with the values the API reports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Prometheus, prometheusAvailable } from '../support/prometheus.js';
import { sendFailingCanary } from '../support/failing-canary.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const available = prometheusAvailable();
if (!available && process.env.CI) throw new Error('CI must have the Debian package prometheus (see .ci/run)');
if (!available) console.warn('skipping: the prometheus binary is not installed (apt-get install prometheus)');

describe.skipIf(!available)('Prometheus scraping /metrics', () => {
  let dir: string;
  let sidecar: Sidecar;
  let prometheus: Prometheus;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'canary-judge-scrape-'));
    const config = parseConfig({
      otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
      api: { port: 0 },
      storage: { path: join(dir, 'state.sqlite') },
      // No watermark hold: the spans below are one burst, judged as soon as they arrive.
      judge: { tickIntervalMs: 200, watermark: { maxHoldMs: 0 } },
      analyses: [
        {
          id: 'checkout',
          run: { revision: 'r1' },
          match: { service: 'checkout' },
          variant: { attribute: 'service.version' },
          baseline: '1.0.0',
          canary: '2.0.0',
          judge: { canaryShare: 0.2, minSamplesPerArm: 100 },
        },
      ],
    });
    sidecar = await startSidecar(config, { logger: createLogger('silent') });
    prometheus = await Prometheus.start(`127.0.0.1:${sidecar.ports.api}`);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await sidecar?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exposes the verdict, per-arm requests, error rates and ingest counters to Prometheus', async () => {
    expect(
      await sendFailingCanary({
        ports: sidecar.ports,
        analysisId: 'checkout',
        revision: 'r1',
        medianMs: 40,
        seeds: [21, 22],
      }),
    ).toBe(true);

    const verdict = await prometheus.until(
      'canary_judge_analysis_verdict{analysis="checkout",verdict="fail"}',
      (samples) => samples[0]?.value === 1,
    );
    expect(verdict[0].metric).toMatchObject({ job: 'canary-judge', analysis: 'checkout' });
    const requests = await prometheus.query('canary_judge_arm_requests{analysis="checkout"}');
    expect(Object.fromEntries(requests.map((sample) => [sample.metric.arm, sample.value]))).toEqual({
      baseline: 2000,
      canary: 500,
    });
    const errorRates = await prometheus.query('canary_judge_arm_error_ratio{analysis="checkout"}');
    const canaryRate = errorRates.find((sample) => sample.metric.arm === 'canary')!.value;
    expect(canaryRate).toBeGreaterThan(0.2);
    expect(canaryRate).toBeLessThan(0.3);
    // The verdict change carries the full evidence: the always-valid p-value decides; the fixed-horizon one is
    // exported under a name that says it is descriptive.
    const alwaysValid = await prometheus.until(
      'canary_judge_metric_always_valid_p_value{analysis="checkout",metric="errors"}',
      (samples) => samples.length === 1,
    );
    expect(alwaysValid[0].value).toBeLessThan(0.01);
    const descriptive = await prometheus.until(
      'canary_judge_metric_descriptive_fixed_horizon_p_value{analysis="checkout",metric="errors"}',
      (samples) => samples.length === 1,
    );
    expect(descriptive[0].value).toBeLessThan(1e-6);
    const received = await prometheus.query('sum(canary_judge_otlp_items_received_total{signal="traces"})');
    expect(received[0].value).toBe(2500);
  });
});
