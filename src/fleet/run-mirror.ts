// How a forwarding instance learns which runs exist: it asks the judging instances (GET /api/v1/fleet/runs, the
// running runs with their effective definitions and stages) and mirrors them: each run is routed in attribution
// under its own run id, with the run's arm values, and opened in the accumulator with the judge's stages.
// The judges own runs, attempts and verdicts; a forwarder only attributes spans to the runs the judges name, so
// a new attempt (a new run id), a superseded run or a re-opened one is right at the forwarder as soon as it
// syncs. Spans that reach a forwarder before it has heard of their run are not attributed (at most one sync
// interval at a run's start); a stage the forwarder hears of late still gets its evidence as long as the
// forwarder's watermark has not passed the stage's start (stages are placed by event time, run-evidence.ts).
//
// A judge that cannot be reached leaves the mirrored runs as they are (they keep being forwarded) and is
// counted; the next sync catches up.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Accumulator } from '../accumulate/accumulator.js';
import { analysisSchema, type Analysis } from '../config/analysis.js';
import type { RunRouting } from '../judge/judge-service.js';

/** A running run as a judge lists it (api/fleet-routes.ts). */
export interface FleetRun {
  runId: string;
  analysisId: string;
  /** The run's effective definition without secrets: what attribution needs. */
  spec: unknown;
  stages: Array<{ startedAtMs: number; canaryShare: number | null }>;
}

export interface MirroredRun {
  runId: string;
  analysisId: string;
  /** When this forwarder began the run's state: the start time of its cumulative points. */
  startTimeMs: number;
  stageCount: number;
}

export interface RunMirrorOptions {
  judgeUrls: string[];
  apiToken: string | null;
  timeoutMs: number;
  accumulator: Accumulator;
  routing: RunRouting;
  registry: Registry;
  logger: Logger;
  clock: () => number;
}

export class RunMirror {
  private readonly mirrored = new Map<string, MirroredRun>();
  private readonly syncs: Counter<'judge' | 'outcome'>;

  constructor(private readonly options: RunMirrorOptions) {
    const registers = [options.registry];
    this.syncs = new Counter({
      name: 'canary_judge_fleet_run_syncs_total',
      help: 'Run lists read from each judging instance by this forwarding instance, by outcome',
      labelNames: ['judge', 'outcome'],
      registers,
    });
    const mirrored = this.mirrored;
    new Gauge({
      name: 'canary_judge_fleet_mirrored_runs',
      help: 'Runs this forwarding instance attributes and forwards',
      registers,
      collect() {
        this.set(mirrored.size);
      },
    });
  }

  runs(): MirroredRun[] {
    return [...this.mirrored.values()];
  }

  /** Reads every judge's running runs and brings the mirror in line; a judge that fails keeps its runs. */
  async sync(): Promise<void> {
    const listed = new Map<string, FleetRun>();
    const unreachable = new Set<string>();
    await Promise.all(
      this.options.judgeUrls.map(async (url) => {
        try {
          for (const run of await this.fetchRuns(url)) listed.set(run.runId, run);
          this.syncs.inc({ judge: url, outcome: 'ok' });
        } catch (error) {
          unreachable.add(url);
          this.syncs.inc({ judge: url, outcome: 'failed' });
          this.options.logger.warn({ judge: url, err: error }, 'cannot read the runs of a judging instance');
        }
      }),
    );
    // With a judge unreachable, its runs cannot be told from ended ones: nothing is closed this time.
    if (unreachable.size === 0) {
      for (const run of this.mirrored.values()) if (!listed.has(run.runId)) this.close(run);
    }
    for (const run of listed.values()) this.open(run);
  }

  /** Stops mirroring everything (shutdown). */
  clear(): void {
    for (const run of [...this.mirrored.values()]) this.close(run);
  }

  private async fetchRuns(url: string): Promise<FleetRun[]> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.apiToken) headers.authorization = `Bearer ${this.options.apiToken}`;
    const response = await fetch(new URL('/api/v1/fleet/runs', url), {
      headers,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!response.ok) throw new Error(`GET /api/v1/fleet/runs answered ${response.status}`);
    const body = (await response.json()) as { runs?: FleetRun[] };
    if (!Array.isArray(body.runs)) throw new Error('GET /api/v1/fleet/runs: no runs array in the answer');
    return body.runs;
  }

  private open(run: FleetRun): void {
    const { accumulator, routing } = this.options;
    const known = this.mirrored.get(run.runId);
    if (known) {
      for (const stage of run.stages.slice(known.stageCount)) accumulator.declareStage(run.runId, stage);
      known.stageCount = Math.max(known.stageCount, run.stages.length);
      return;
    }
    const parsed = analysisSchema.safeParse(run.spec);
    if (!parsed.success || run.stages.length === 0) {
      this.options.logger.warn(
        { run: run.runId },
        'a judge listed a run this forwarder cannot read; skipped',
      );
      return;
    }
    const spec: Analysis = parsed.data;
    // The judge's previous run of the analysis has ended (it is not listed): make way for this one.
    for (const other of [...this.mirrored.values()]) if (other.analysisId === spec.id) this.close(other);
    const [first, ...later] = run.stages;
    accumulator.open(run.runId, first, spec.judge.stageSettleSeconds * 1000);
    for (const stage of later) accumulator.declareStage(run.runId, stage);
    routing.routeRun(run.runId, spec);
    this.mirrored.set(run.runId, {
      runId: run.runId,
      analysisId: spec.id,
      startTimeMs: this.options.clock(),
      stageCount: run.stages.length,
    });
    this.options.logger.info({ run: run.runId, analysis: spec.id }, 'forwarding a run');
  }

  private close(run: MirroredRun): void {
    this.options.routing.unrouteRun(run.runId);
    this.options.accumulator.close(run.runId);
    this.mirrored.delete(run.runId);
  }
}
