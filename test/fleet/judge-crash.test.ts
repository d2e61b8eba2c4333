// A judging instance killed (SIGKILL) mid-run, with no evidence snapshot since the run began, loses nothing of
// the forwarded evidence: after it restarts on the same SQLite file it resumes the run (same run id), the
// forwarders' next exports carry their whole cumulative state (including what they received while it was down),
// and the verdict arrives. Two forwarders in-process, the judge a real CLI process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import {
  API_TOKEN,
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

const dir = mkdtempSync(join(tmpdir(), 'canary-judge-judge-crash-'));
const started: Array<FleetInstance | CliInstance> = [];
afterAll(async () => {
  await Promise.all(started.map((instance) => instance.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a judging instance killed mid-run', () => {
  it('resumes the run from SQLite and loses none of the forwarded evidence', async () => {
    // Ports picked by the first start and kept for the restart (the forwarders know the judge by them).
    const judgeConfig = {
      otlp: { grpc: { port: 0 }, http: { enabled: false }, authToken: OTLP_TOKEN },
      api: { port: 0, authToken: API_TOKEN },
      storage: { path: join(dir, 'judge.sqlite') },
      // Ticks every 100 ms; no evidence snapshot at all after the run starts.
      judge: { tickIntervalMs: 100, snapshotIntervalMs: 86_400_000, watermark: { maxHoldMs: 0 } },
      analyses: [{ ...FLEET_ANALYSIS, run: { revision: 'r1', canaryShare: 0.2 } }],
    };
    let judge = await startCliInstance(dir, 'judge', judgeConfig);
    started.push(judge);
    const verdict = async (): Promise<VerdictDocument> =>
      (await (
        await fetch(`${judge.apiUrl}/api/v1/analyses/checkout/runs/r1`, {
          headers: { authorization: `Bearer ${API_TOKEN}` },
        })
      ).json()) as VerdictDocument;
    const forwarders: FleetInstance[] = [];
    for (let i = 0; i < 2; i += 1) {
      const forwarder = await startInstance({ forwardTo: judge, instanceId: `forwarder-${i}` });
      started.push(forwarder);
      forwarders.push(forwarder);
      await forwarder.sidecar.fleet!.sync();
      expect(forwarder.sidecar.fleet!.mirror.runs()).toHaveLength(1);
    }
    const split = new TraceIdSplitExporter(forwarders.map((f) => grpcTraceExporter(f.grpcUrl)));
    let sent = 0;
    const send = async (round: number): Promise<boolean[]> => {
      const spans = windowOfTraffic(round);
      expect((await exportOnce(split, spans)).error?.message ?? 'exported').toBe('exported');
      sent += spans.length;
      return Promise.all(forwarders.map((f) => f.sidecar.fleet!.exportNow()));
    };
    // Exports are cumulative, so a refused one (a busy judge sheds with UNAVAILABLE) is made good by the
    // next: the forwarders export again until both are accepted, as their timers would.
    const exportedAll = () =>
      eventually(async () =>
        (await Promise.all(forwarders.map((f) => f.sidecar.fleet!.exportNow()))).every(Boolean),
      );
    const judgedAll = async () => {
      const { samples } = await verdict();
      return samples.baseline + samples.canary === sent;
    };

    for (let round = 0; round < 3; round += 1) {
      await send(round);
      expect(await exportedAll()).toBe(true);
      expect(await eventually(judgedAll)).toBe(true);
    }
    const runId = (await verdict()).runId;
    await judge.kill();
    // While it is down the forwarders keep receiving; their exports fail and are made good later.
    expect(await send(3)).toEqual([false, false]);

    judgeConfig.otlp.grpc.port = Number(new URL(judge.grpcUrl).port);
    judgeConfig.api.port = Number(new URL(judge.apiUrl).port);
    judge = await startCliInstance(dir, 'judge', judgeConfig);
    started.push(judge);
    expect(await exportedAll()).toBe(true);
    expect(await eventually(judgedAll)).toBe(true);
    expect((await verdict()).runId).toBe(runId);

    let document = await verdict();
    for (let round = 4; round < 30 && document.verdict === 'running'; round += 1) {
      await send(round);
      expect(await exportedAll()).toBe(true);
      expect(await eventually(judgedAll)).toBe(true);
      document = await verdict();
    }
    expect(await eventually(async () => (document = await verdict()).verdict === 'fail')).toBe(true);
    expect(document.runId).toBe(runId);
    await split.shutdown();
  });
});
