// A forwarding instance killed (SIGKILL) mid-run loses at most what it received since its last export, and the
// verdict still arrives: four forwarders (three in-process, the fourth a real CLI process exporting every
// 200 ms) and one judging instance, fed by the real OTel SDK's OTLP/gRPC exporters through a split by trace id.
// After the kill the split goes on over the three that are left, as the Collector's loadbalancing exporter does
// once its resolver drops the dead backend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import {
  api,
  API_TOKEN,
  backendOf,
  eventually,
  FLEET_ANALYSIS,
  grpcTraceExporter,
  OTLP_TOKEN,
  startCliInstance,
  startInstance,
  TraceIdSplitExporter,
  windowOfTraffic,
  type CliInstance,
  type FleetInstance,
} from '../support/fleet.js';
import { exportOnce } from '../support/telemetry.js';

const dir = mkdtempSync(join(tmpdir(), 'canary-judge-fleet-kill-'));
const started: Array<FleetInstance | CliInstance> = [];
afterAll(async () => {
  await Promise.all(started.map((instance) => instance.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function documentOf(judge: FleetInstance): Promise<VerdictDocument> {
  return (await (await api(judge, '/api/v1/analyses/checkout/runs/r1')).json()) as VerdictDocument;
}

const judged = (doc: VerdictDocument) => doc.samples.baseline + doc.samples.canary;

/** One window of traffic ending now (real clock): 480 baseline and 120 canary server spans, the canary worse. */
describe('a forwarder killed mid-run', () => {
  it('loses at most its last export interval, and the verdict still arrives', async () => {
    const judge = await startInstance({ analyses: [FLEET_ANALYSIS] });
    started.push(judge);
    expect(
      (await api(judge, '/api/v1/analyses/checkout/runs/r1', { method: 'PUT', body: '{"canaryShare":0.2}' }))
        .status,
    ).toBe(201);
    const inProcess: FleetInstance[] = [];
    for (let i = 0; i < 3; i += 1) {
      const forwarder = await startInstance({ forwardTo: judge, instanceId: `forwarder-${i}` });
      started.push(forwarder);
      inProcess.push(forwarder);
      await forwarder.sidecar.fleet!.sync();
    }
    const child = await startCliInstance(dir, 'forwarder-3', {
      otlp: { grpc: { port: 0 }, http: { port: 0 }, authToken: OTLP_TOKEN },
      api: { port: 0 },
      storage: { path: join(dir, 'forwarder-3.sqlite') },
      judge: { watermark: { maxHoldMs: 0 } },
      fleet: {
        forward: {
          judgeUrls: [judge.apiUrl],
          otlpEndpoint: judge.grpcUrl,
          instanceId: 'forwarder-3',
          exportIntervalMs: 200,
          runsSyncIntervalMs: 200,
          apiToken: API_TOKEN,
          otlpAuthToken: OTLP_TOKEN,
        },
      },
    });
    started.push(child);
    expect(
      await eventually(async () =>
        /canary_judge_fleet_mirrored_runs 1\b/.test(await (await fetch(`${child.apiUrl}/metrics`)).text()),
      ),
    ).toBe(true);

    const backends = [...inProcess.map((f) => f.grpcUrl), child.grpcUrl].map(grpcTraceExporter);
    let split = new TraceIdSplitExporter(backends);
    let sent = 0;
    let document: VerdictDocument;
    const send = async (round: number, forwarders: FleetInstance[]): Promise<ReadableSpan[]> => {
      const spans = windowOfTraffic(round);
      expect((await exportOnce(split, spans)).error?.message ?? 'exported').toBe('exported');
      await Promise.all(forwarders.map((f) => f.sidecar.fleet!.exportNow()));
      sent += spans.length;
      return spans;
    };

    // Three rounds with all four forwarders, each fully judged (the child's exports arrive on its timer).
    for (let round = 0; round < 3; round += 1) {
      await send(round, inProcess);
      expect(
        await eventually(async () => {
          judge.sidecar.judge.tick();
          return judged((document = await documentOf(judge))) === sent;
        }),
      ).toBe(true);
    }
    // A fourth round reaches every forwarder; the child is killed at once, before or after its next export.
    const lastRound = await send(3, inProcess);
    const sentToChild = lastRound.filter((span) => backendOf(span.spanContext().traceId, 4) === 3).length;
    await child.kill();
    // What the child had not exported when it died is lost, and nothing more: every later round is judged in
    // full. (Its last request may still be on its way in when the judge ticks, so the bound is checked, not an
    // exact figure.)
    const judgedAtMost = () => sent;
    const judgedAtLeast = () => sent - sentToChild;
    judge.sidecar.judge.tick();
    document = await documentOf(judge);
    expect(judged(document)).toBeGreaterThanOrEqual(judgedAtLeast());
    expect(judged(document)).toBeLessThanOrEqual(judgedAtMost());

    // The split goes on over the three left, and the verdict arrives.
    split = new TraceIdSplitExporter(backends.slice(0, 3));
    for (let round = 4; round < 30 && document.verdict === 'running'; round += 1) {
      await send(round, inProcess);
      judge.sidecar.judge.tick();
      document = await documentOf(judge);
      expect(judged(document)).toBeGreaterThanOrEqual(judgedAtLeast());
      expect(judged(document)).toBeLessThanOrEqual(judgedAtMost());
    }
    expect(document.verdict).toBe('fail');
    expect(document.reason).toMatch(/^errors: /);
    await split.shutdown();
    await backends[3].shutdown();
  });
});
