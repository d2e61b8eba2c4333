// Ingest benchmark (`npm run bench:ingest`): spans/s and MB/s through OTLP/HTTP-protobuf and OTLP/gRPC
// into the real sidecar, against a null receiver on the same transport in the same run. The null
// receiver reads each request whole and answers an empty success without decoding, so the ratio
// sidecar/null is what our decoding, limits and counting cost on this machine, whatever its speed.
//
// Every receiver runs in a fresh process of its own for each turn, so no row pays for the garbage, GC or JIT
// of another: the null receivers (bench/null-receiver.ts), the sidecar started as `npm start` starts it
// (`node <its flags> <its script> --config <file>`, bench/start-command.ts) and, when Go is installed, a Go receiver
// doing a full protobuf-go unmarshal (bench/go-peer); the table says why when it is not measured. Each turn
// warms its receiver up (WARMUP_SECONDS of the same load) before the measured window. Spans per CPU-second
// count the receiver process's CPU time (user + system, all its threads: GC and JIT threads count, as
// the Go runtime's do) during the measured window, read from /proc, so they do not depend on what else the
// machine does. Where taskset is available every receiver is pinned to the same core and the load generator
// (bench/load-generator.ts, a process of its own) to the others (go-peer.ts corePinning); the output says
// when they are not. Peak RSS is the receiver process's (VmHWM). Before each turn a machine-speed probe
// (speed-probe.ts: a fixed decode workload in a fresh process on the receivers' core) is timed and reported per
// turn and per row: this VM's core was seen to switch between two speeds ~1.6x apart, which, not the sidecar,
// made fresh processes read bimodal; the probe changes no figure, it shows in which state each row ran.
//
// The real path: over OTLP/HTTP the sidecar is also measured with 1, 100 and 1 000 analyses running (exactly
// one matches the payload's service and flag; the others name other services and flags), as ratios against
// the same sidecar with no analysis, measured in the same rounds.
//
// Steady state, not start-up. The judge's timers start with the sidecar (a tick every judge.tickIntervalMs,
// 5 s, a snapshot every judge.snapshotIntervalMs, 10 s), and at 1 000 runs its first tick and first snapshot
// under this load cost far more than later ones (first snapshot 2.6-9.7 s of wall time, later ones 33-119 ms;
// later ticks 31-62 ms of busy slices): a fixed 5 s warm-up put them in the measured window, which then measured
// start-up, and its dips (docs/performance-notes.md, ingest, "Why the 1 000-analysis row ... dips"). So a
// sidecar's warm-up lasts at least WARMUP_SECONDS and until the sidecar has finished its first snapshot and a
// tick after it: the bench polls the sidecar's /metrics on its api port (the port from its `canary-judge
// started` line) every POLL_MS while the warm-up load runs, asking only for the tick and snapshot histograms
// (`?name[]=`: a few hundred bytes, where the whole text at 1 000 analyses is ~4.7 MB and 0.1-0.4 s of the
// sidecar's CPU, and it would set ~64 000 series the window would then carry). The warm-up load is then
// stopped (SIGTERM to its generator) at the next point halfway between two ticks (started line + 2.5 s + a
// multiple of 5 s), and the window runs SECONDS, 10 s by default: a whole number of snapshot intervals,
// so every turn's window holds two ticks and one snapshot, whole, each ~2.5 s from its edges (each turn
// prints what its window held). Every other row (null, Go peer) keeps a fixed WARMUP_SECONDS warm-up and
// gets the same SECONDS window, so the ratios compare windows of one length. What start-up costs is reported
// apart (ingest-startup.*): per sidecar row, the warm-up's length and spans per CPU-second (boot excluded:
// CPU from the started line), the first tick's busy time and the first snapshot's wall time under the load.
// A sidecar turn lasts ~28 s (warm-up 12.5 or 17.5 s on this VM; up to 27.5 s if a first snapshot ran past +15 s),
// a null or Go turn ~16 s: the whole bench 9.5 min here (2026-12-01 11:05 UTC; it was ~5 min with 5 s windows).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import {
  buildGoPeer,
  corePinning,
  onCores,
  processCpuSeconds,
  startGoPeer,
  type CorePinning,
} from './go-peer.js';
import { buildTraceRequestPayload, ingestBenchAnalysis } from './payloads.js';
import { spawnLoad, type LoadProcess } from './load-process.js';
import { markdownTable, writeResults, type ResultRow } from './results.js';
import { productionMainScript, productionNodeFlags } from './start-command.js';

/** The measured window of every row; a whole number of the sidecar's snapshot intervals (see above). */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** The warm-up of the null and Go rows, and the least warm-up of a sidecar (which lasts past its first snapshot). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
/** A sidecar not past its first snapshot and the tick after it by then fails the bench. */
const WARMUP_MAX_SECONDS = Number(process.env.BENCH_WARMUP_MAX_SECONDS ?? 90);
/** The sidecar's default judge.tickIntervalMs and judge.snapshotIntervalMs (config/schema.ts), which the bench keeps. */
const TICK_INTERVAL_MS = 5_000;
const SNAPSHOT_INTERVAL_MS = 10_000;
/** How often a sidecar's tick and snapshot histograms are read during its warm-up. */
const POLL_MS = 250;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SPANS_PER_REQUEST = 512;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ANALYSIS_COUNTS = [1, 100, 1000];
const generator = fileURLToPath(new URL('./load-generator.js', import.meta.url));
const nullReceiver = fileURLToPath(new URL('./null-receiver.js', import.meta.url));
const speedProbe = fileURLToPath(new URL('./speed-probe.js', import.meta.url));
const sidecarMain = productionMainScript();
/** The node flags of `npm start` (package.json), so each sidecar runs as users run it. */
const SIDECAR_NODE_FLAGS = productionNodeFlags();
const pinning: CorePinning = corePinning();

/** A receiver running in a child process of its own. */
interface Receiver {
  url: string;
  pid: number;
  /** A sidecar's: its api port's URL, when (performance.now()) its started line came, and its CPU seconds then. */
  judge?: { apiUrl: string; startedAtMs: number; cpuAtStart: number };
  stop(): Promise<void>;
}

/** What a receiver's ready line says: the port to load, and a sidecar's api port. */
interface Ready {
  port: number;
  apiPort?: number;
}

/** Starts `command args` on the receivers' core; resolves once `readyOf` finds its ports in a line of its stdout. */
async function startReceiver(
  command: string,
  args: string[],
  readyOf: (line: string) => Ready | undefined,
  url: (port: number) => string,
): Promise<Receiver> {
  // taskset execs the command, so the child's pid is the receiver's.
  const [pinned, pinnedArgs] = onCores(pinning, 'receiver', command, args);
  const child: ChildProcess = spawn(pinned, pinnedArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code})`)));
    lines.on('line', (line) => {
      const found = readyOf(line);
      if (found !== undefined) resolve(found);
    });
  });
  const startedAtMs = performance.now();
  lines.removeAllListeners('line');
  lines.on('line', () => undefined); // keep draining its output
  return {
    url: url(ready.port),
    pid: child.pid!,
    judge:
      ready.apiPort === undefined
        ? undefined
        : {
            apiUrl: `http://127.0.0.1:${ready.apiPort}`,
            startedAtMs,
            cpuAtStart: processCpuSeconds(child.pid!),
          },
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const listeningPort = (line: string): Ready | undefined => {
  const match = /^listening (\d+)$/.exec(line);
  return match ? { port: Number(match[1]) } : undefined;
};

function startNull(transport: 'http' | 'grpc'): Promise<Receiver> {
  return startReceiver(process.execPath, [nullReceiver, transport], listeningPort, (port) =>
    transport === 'http' ? `http://127.0.0.1:${port}` : `127.0.0.1:${port}`,
  );
}

let sidecars = 0;

/**
 * A sidecar process on a fresh database with `analyses` running (ingestBenchAnalysis), from a config file as in
 * production.
 */
function startSidecarProcess(transport: 'http' | 'grpc', dir: string, analyses: number): Promise<Receiver> {
  sidecars += 1;
  const configFile = join(dir, `bench-${sidecars}.json`);
  const config = {
    otlp: { grpc: { port: 0 }, http: { port: 0 }, maxInFlightRequests: 256 },
    api: { port: 0 },
    storage: { path: join(dir, `bench-${sidecars}.sqlite`) },
    log: { level: 'info', format: 'json' },
    judge: { maxAnalyses: 2000, maxRunningRuns: 2000 },
    analyses: Array.from({ length: analyses }, (_, i) => ({
      ...ingestBenchAnalysis(i),
      judge: { maxDurationSeconds: 86_400 },
      run: { revision: 'rev-1' },
    })),
  };
  writeFileSync(configFile, JSON.stringify(config));
  const readyOf = (line: string): Ready | undefined => {
    if (!line.includes('canary-judge started')) return undefined;
    const { ports } = JSON.parse(line) as { ports: { http: number; grpc: number; api: number } };
    return { port: transport === 'http' ? ports.http : ports.grpc, apiPort: ports.api };
  };
  return startReceiver(
    process.execPath,
    [...SIDECAR_NODE_FLAGS, sidecarMain, '--config', configFile],
    readyOf,
    (port) => (transport === 'http' ? `http://127.0.0.1:${port}` : `127.0.0.1:${port}`),
  );
}

const execFileAsync = promisify(execFile);

interface Run {
  ok: number;
  failed: number;
  elapsedSeconds: number;
  /** The receiver process's CPU seconds (user + system, all threads) during the measured window. */
  cpuSeconds: number;
  /** The receiver process's peak RSS so far (VmHWM), bytes. */
  peakRssBytes: number;
  /** The machine-speed probe's CPU microseconds per decode just before the turn (speed-probe.ts). */
  probeMicros: number;
  /** When the measured window began. */
  windowStartedAt: Date;
  /** A sidecar's: its warm-up (start-up cost) and the judge's work its window held. */
  sidecar?: SidecarTurn;
}

/** The sidecar's tick and snapshot histograms (count and sum) at one read. */
interface JudgeTimers {
  ticks: number;
  tickSeconds: number;
  snapshots: number;
  snapshotSeconds: number;
}

interface SidecarTurn {
  /** From the started line to the window's start. */
  warmupSeconds: number;
  /** Spans answered during the warm-up per CPU-second of the sidecar from its started line to the window. */
  warmupSpansPerCpuSecond: number;
  /** The first tick's busy time (the tick histogram's first observation). */
  firstTickMs: number;
  /** The first snapshot's wall time (the snapshot histogram's first observation). */
  firstSnapshotSeconds: number;
  /** The judge's timer work that ended during the measured window. */
  window: { ticks: number; tickMs: number; snapshots: number; snapshotMs: number };
}

function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** A load generator (a process of its own, on the generator cores) running for `seconds` or until stopped. */
function startLoad(
  transport: 'http' | 'grpc',
  url: string,
  payloadFile: string,
  seconds: number,
): LoadProcess {
  const [command, args] = onCores(pinning, 'generator', process.execPath, [
    generator,
    transport,
    url,
    payloadFile,
    String(seconds),
    String(CONCURRENCY),
  ]);
  return spawnLoad(command, args);
}

const load = (transport: 'http' | 'grpc', url: string, payloadFile: string, seconds: number) =>
  startLoad(transport, url, payloadFile, seconds).done;

/** The machine-speed probe (speed-probe.ts) on the receivers' core: CPU microseconds per decode right now. */
async function probeMicros(payloadFile: string): Promise<number> {
  const [command, args] = onCores(pinning, 'receiver', process.execPath, [speedProbe, payloadFile]);
  const { stdout } = await execFileAsync(command, args, { encoding: 'utf8' });
  return Number(stdout.trim());
}

const TIMER_FAMILIES = [
  'canary_judge_judge_tick_duration_seconds',
  'canary_judge_judge_snapshot_duration_seconds',
];

/** The sidecar's tick and snapshot histograms, and only those (GET /metrics?name[]=..., a few hundred bytes). */
async function judgeTimers(apiUrl: string): Promise<JudgeTimers> {
  const query = TIMER_FAMILIES.map((name) => `name[]=${name}`).join('&');
  // A sidecar that stops answering fails the warm-up in 10 s, not undici's 300 s.
  const text = await (
    await fetch(`${apiUrl}/metrics?${query}`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const sample = (name: string) => {
    const value = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    if (Number.isNaN(value)) throw new Error(`${name} not in the sidecar's /metrics?${query}`);
    return value;
  };
  return {
    ticks: sample(`${TIMER_FAMILIES[0]}_count`),
    tickSeconds: sample(`${TIMER_FAMILIES[0]}_sum`),
    snapshots: sample(`${TIMER_FAMILIES[1]}_count`),
    snapshotSeconds: sample(`${TIMER_FAMILIES[1]}_sum`),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * A sidecar's warm-up: the load runs until the sidecar has finished its first snapshot and a tick after it, and
 * at least WARMUP_SECONDS; it is stopped at the next point halfway between two of the judge's ticks, where the
 * window begins. Returns the warm-up's figures, less the window's.
 */
async function warmUpSidecar(
  transport: 'http' | 'grpc',
  receiver: Receiver,
  judge: NonNullable<Receiver['judge']>,
  payloadFile: string,
): Promise<Omit<SidecarTurn, 'window'> & { timers: JudgeTimers }> {
  // The generator's own deadline lies past the last poll and the wait for the window after it.
  const warm = startLoad(
    transport,
    receiver.url,
    payloadFile,
    WARMUP_MAX_SECONDS + TICK_INTERVAL_MS / 1000 + 5,
  );
  let firstTickMs = NaN;
  let firstSnapshotSeconds = NaN;
  let ticksAtSnapshot: number | undefined;
  try {
    for (;;) {
      await sleep(POLL_MS);
      const sinceStart = performance.now() - judge.startedAtMs;
      if (sinceStart > WARMUP_MAX_SECONDS * 1000)
        throw new Error(
          `sidecar not past its first snapshot and the tick after it within ${WARMUP_MAX_SECONDS} s (BENCH_WARMUP_MAX_SECONDS)`,
        );
      if (warm.exited()) throw new Error('the warm-up load generator ended before the sidecar was warm');
      const timers = await judgeTimers(judge.apiUrl);
      // A histogram's sum while it holds one observation is that observation.
      if (Number.isNaN(firstTickMs) && timers.ticks === 1) firstTickMs = timers.tickSeconds * 1000;
      if (ticksAtSnapshot === undefined && timers.snapshots >= 1) {
        if (timers.snapshots === 1) firstSnapshotSeconds = timers.snapshotSeconds;
        ticksAtSnapshot = timers.ticks;
      }
      if (ticksAtSnapshot !== undefined && timers.ticks > ticksAtSnapshot) break;
    }
    // The judge's timers run on a grid from its start (a few ms before the started line): ticks at multiples
    // of TICK_INTERVAL_MS, snapshots at multiples of SNAPSHOT_INTERVAL_MS. The window starts halfway between two.
    const earliest = Math.max(performance.now() + POLL_MS, judge.startedAtMs + WARMUP_SECONDS * 1000);
    const steps = Math.ceil((earliest - judge.startedAtMs - TICK_INTERVAL_MS / 2) / TICK_INTERVAL_MS);
    await sleep(judge.startedAtMs + TICK_INTERVAL_MS / 2 + steps * TICK_INTERVAL_MS - performance.now());
  } catch (error) {
    await warm.stop().catch(() => undefined); // its own failure, if any, is not the one to report
    throw error;
  }
  const counts = await warm.stop();
  const warmupSeconds = (performance.now() - judge.startedAtMs) / 1000;
  const cpuSeconds = processCpuSeconds(receiver.pid) - judge.cpuAtStart;
  return {
    warmupSeconds,
    warmupSpansPerCpuSecond: (counts.ok * SPANS_PER_REQUEST) / Math.max(cpuSeconds, 1e-9),
    firstTickMs,
    firstSnapshotSeconds,
    timers: await judgeTimers(judge.apiUrl),
  };
}

/**
 * One turn: the speed probe, then a fresh receiver, warmed up (a sidecar past its first snapshot, see
 * warmUpSidecar), then measured for SECONDS, then stopped.
 */
async function turn(
  transport: 'http' | 'grpc',
  start: () => Promise<Receiver>,
  payloadFile: string,
): Promise<Run> {
  const probe = await probeMicros(payloadFile);
  const receiver = await start();
  try {
    const { judge } = receiver;
    const warm = judge ? await warmUpSidecar(transport, receiver, judge, payloadFile) : undefined;
    if (!warm) await load(transport, receiver.url, payloadFile, WARMUP_SECONDS);
    const windowStartedAt = new Date();
    const cpuBefore = processCpuSeconds(receiver.pid);
    const run = await load(transport, receiver.url, payloadFile, SECONDS);
    const cpuSeconds = processCpuSeconds(receiver.pid) - cpuBefore;
    let sidecar: SidecarTurn | undefined;
    if (judge && warm) {
      const { timers: before, ...startup } = warm;
      const after = await judgeTimers(judge.apiUrl);
      sidecar = {
        ...startup,
        window: {
          ticks: after.ticks - before.ticks,
          tickMs: (after.tickSeconds - before.tickSeconds) * 1000,
          snapshots: after.snapshots - before.snapshots,
          snapshotMs: (after.snapshotSeconds - before.snapshotSeconds) * 1000,
        },
      };
    }
    return {
      ...run,
      cpuSeconds,
      peakRssBytes: peakRssBytes(receiver.pid),
      probeMicros: probe,
      windowStartedAt,
      sidecar,
    };
  } finally {
    await receiver.stop();
  }
}

/** One turn's line: its window's start (UTC), spans per CPU-s, the probe, and a sidecar's warm-up and window. */
function turnLine(round: number, label: string, run: Run): string {
  const at = run.windowStartedAt.toISOString().slice(11, 19);
  const parts = [`${Math.round(spansPerCpuSecond(run))} spans per CPU-s`, `probe ${run.probeMicros} us`];
  const sidecar = run.sidecar;
  if (sidecar) {
    const { window } = sidecar;
    parts.push(
      `warm-up ${sidecar.warmupSeconds.toFixed(1)} s at ${Math.round(sidecar.warmupSpansPerCpuSecond)} spans per CPU-s, first tick ${sidecar.firstTickMs.toFixed(0)} ms busy, first snapshot ${sidecar.firstSnapshotSeconds.toFixed(2)} s`,
      `window held ${window.ticks} ticks (${window.tickMs.toFixed(0)} ms busy) and ${window.snapshots} snapshots (${window.snapshotMs.toFixed(0)} ms wall)`,
    );
  }
  return `round ${round + 1} ${label} (window from ${at} UTC): ${parts.join(', ')}\n`;
}

/** The start-up cost of each sidecar row (ingest-startup.*): medians over its turns, and the first snapshot's range. */
function startupRow(transport: string, receiver: string, runs: Run[]): ResultRow {
  const turns = runs.map((run) => run.sidecar!);
  const med = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    return finite.length > 0 ? median(finite) : NaN;
  };
  const firstSnapshots = turns.map((turn) => turn.firstSnapshotSeconds);
  const windowHeld = [...new Set(turns.map((turn) => `${turn.window.ticks}, ${turn.window.snapshots}`))];
  return {
    transport,
    receiver,
    'warm-up s (median)': Number(med(turns.map((turn) => turn.warmupSeconds)).toFixed(1)),
    'warm-up spans per CPU-s (median)': Math.round(med(turns.map((turn) => turn.warmupSpansPerCpuSecond))),
    'warm-up / window (per CPU-s), median of turns': Number(
      med(runs.map((run) => run.sidecar!.warmupSpansPerCpuSecond / spansPerCpuSecond(run))).toFixed(2),
    ),
    'first tick busy ms (median)': Number(med(turns.map((turn) => turn.firstTickMs)).toFixed(1)),
    'first snapshot s under load (median)': Number(med(firstSnapshots).toFixed(2)),
    'first snapshot s (min-max)': `${Math.min(...firstSnapshots).toFixed(2)}-${Math.max(...firstSnapshots).toFixed(2)}`,
    'window: ticks, snapshots': windowHeld.join(' / '),
    'window: tick busy ms per tick (median)': Number(
      med(turns.map((turn) => turn.window.tickMs / Math.max(turn.window.ticks, 1))).toFixed(1),
    ),
    'window: snapshot ms (median)': Number(med(turns.map((turn) => turn.window.snapshotMs)).toFixed(1)),
  };
}

const spansPerSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / run.elapsedSeconds;
const spansPerCpuSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / Math.max(run.cpuSeconds, 1e-9);

type Key = number | 'null' | 'go';

/** OTLP/HTTP: the Go peer, the null receiver and the sidecar with 0, 1, 100 and 1 000 analyses take turns; medians of ROUNDS. */
async function realPathRows(dir: string, payloadFile: string, payloadBytes: number): Promise<Rows> {
  const variants = [0, ...ANALYSIS_COUNTS];
  const built = buildGoPeer(dir);
  if ('unavailable' in built) process.stdout.write(`Go peer not measured: ${built.unavailable}\n`);
  const starts = new Map<Key, () => Promise<Receiver>>([['null', () => startNull('http')]]);
  if ('binary' in built) starts.set('go', () => startGoPeer(built.binary, pinning));
  for (const n of variants) starts.set(n, () => startSidecarProcess('http', dir, n));
  // BENCH_INGEST_KEYS=go,1 measures only those rows (quicker A/B comparisons; results are then not written).
  const keys = process.env.BENCH_INGEST_KEYS?.split(',');
  if (keys) for (const key of [...starts.keys()]) if (!keys.includes(String(key))) starts.delete(key);
  const runs = new Map<Key, Run[]>([...starts.keys()].map((key) => [key, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [key, start] of starts) {
      const run = await turn('http', start, payloadFile);
      runs.get(key)!.push(run);
      // Every turn, so a reader can see which turns ran while the machine was slow (speed-probe.ts).
      process.stdout.write(turnLine(round, String(key), run));
    }
  }
  const measuredGo = starts.has('go');
  const rate = (key: Key) => (starts.has(key) ? median(runs.get(key)!.map(spansPerSecond)) : NaN);
  const perCpu = (key: Key) => (starts.has(key) ? median(runs.get(key)!.map(spansPerCpuSecond)) : NaN);
  /** A ratio of two medians to two places, or '-' when either row was not measured (BENCH_INGEST_KEYS). */
  const ratioOf = (value: number, to: number) =>
    Number.isNaN(value) || Number.isNaN(to) ? '-' : Number((value / to).toFixed(2));
  // The same ratio taken within each round, then its median over the rounds (a paired estimate, beside the
  // ratio of the medians above, which stays). The host switches between two speeds ~1.6x apart, and a round's
  // turns run within a minute of each other, so they share its state more often than turns of different
  // rounds; a ratio of medians can divide a fast round's turn by a slow round's. Rounds are printed below.
  const roundRatios = (key: Key, to: Key): number[] =>
    runs.get(key)!.map((run, round) => spansPerCpuSecond(run) / spansPerCpuSecond(runs.get(to)![round]));
  const pairedRatio = (key: Key, to: Key) =>
    starts.has(key) && starts.has(to) ? Number(median(roundRatios(key, to)).toFixed(2)) : '-';
  for (const key of variants) {
    if (!starts.has(key)) continue;
    const against = ([0, 'go'] as Key[]).filter((to) => to !== key && starts.has(to));
    if (against.length === 0) continue;
    const listed = against.map(
      (to) =>
        `to ${to === 'go' ? 'Go' : '0 analyses'} ${roundRatios(key, to)
          .map((ratio) => ratio.toFixed(2))
          .join(', ')}`,
    );
    process.stdout.write(`${key} analyses, per-round ratios per CPU-s: ${listed.join('; ')}\n`);
  }
  const peakRss = (key: Key) => Math.round(Math.max(...runs.get(key)!.map((run) => run.peakRssBytes)) / 1e6);
  const probe = (key: Key) => Math.round(median(runs.get(key)!.map((run) => run.probeMicros)));
  const rows: ResultRow[] = [];
  rows.push({
    transport: 'OTLP/HTTP protobuf',
    receiver: `Go net/http + protobuf-go Unmarshal, GOMAXPROCS=1${'unavailable' in pinning ? '' : ', same core'}`,
    'spans/s (median)': measuredGo
      ? Math.round(rate('go'))
      : `not measured: ${'unavailable' in built ? built.unavailable : 'not in BENCH_INGEST_KEYS'}`,
    'spans per CPU-s': measuredGo ? Math.round(perCpu('go')) : '-',
    'MB/s': measuredGo ? Number(((rate('go') / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)) : '-',
    'failed requests': measuredGo ? runs.get('go')!.reduce((sum, run) => sum + run.failed, 0) : '-',
    'peak RSS MB': measuredGo ? peakRss('go') : '-',
    'ratio to null': measuredGo ? ratioOf(rate('go'), rate('null')) : '-',
    'ratio to 0 analyses (per CPU-s)': '-',
    'ratio to Go (per CPU-s)': measuredGo ? 1 : '-',
    'ratio to 0 analyses (per CPU-s), median of rounds': '-',
    'ratio to Go (per CPU-s), median of rounds': measuredGo ? 1 : '-',
    'speed probe us (median)': measuredGo ? probe('go') : '-',
  });
  for (const key of ['null' as const, ...variants]) {
    if (!starts.has(key)) continue;
    rows.push({
      transport: 'OTLP/HTTP protobuf',
      receiver: key === 'null' ? 'null' : `sidecar, ${key} analyses${key > 0 ? ' (1 matching)' : ''}`,
      'spans/s (median)': Math.round(rate(key)),
      'spans per CPU-s': Math.round(perCpu(key)),
      'MB/s': Number(((rate(key) / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)),
      'failed requests': runs.get(key)!.reduce((sum, run) => sum + run.failed, 0),
      'peak RSS MB': peakRss(key),
      'ratio to null': ratioOf(rate(key), rate('null')),
      'ratio to 0 analyses (per CPU-s)': key === 'null' ? '-' : ratioOf(perCpu(key), perCpu(0)),
      'ratio to Go (per CPU-s)': ratioOf(perCpu(key), perCpu('go')),
      'ratio to 0 analyses (per CPU-s), median of rounds': key === 'null' ? '-' : pairedRatio(key, 0),
      'ratio to Go (per CPU-s), median of rounds': pairedRatio(key, 'go'),
      'speed probe us (median)': probe(key),
    });
  }
  const startup = variants
    .filter((key) => starts.has(key))
    .map((key) =>
      startupRow(
        'OTLP/HTTP protobuf',
        `sidecar, ${key} analyses${key > 0 ? ' (1 matching)' : ''}`,
        runs.get(key)!,
      ),
    );
  return { rows, startup };
}

/** The main table's rows, and the start-up table's (one per sidecar row). */
interface Rows {
  rows: ResultRow[];
  startup: ResultRow[];
}

/** OTLP/gRPC: the null receiver and the sidecar with no analysis take turns; medians of ROUNDS. */
async function grpcRows(dir: string, payloadFile: string, payloadBytes: number): Promise<Rows> {
  const starts = {
    null: () => startNull('grpc'),
    sidecar: () => startSidecarProcess('grpc', dir, 0),
  };
  const runs: Record<'null' | 'sidecar', Run[]> = { null: [], sidecar: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const receiver of ['null', 'sidecar'] as const) {
      const run = await turn('grpc', starts[receiver], payloadFile);
      runs[receiver].push(run);
      process.stdout.write(turnLine(round, `gRPC ${receiver}`, run));
    }
  }
  const rate = (receiver: 'null' | 'sidecar') => median(runs[receiver].map(spansPerSecond));
  const rows = (['null', 'sidecar'] as const).map((receiver) => ({
    transport: 'OTLP/gRPC',
    receiver,
    'spans/s (median)': Math.round(rate(receiver)),
    'spans per CPU-s': Math.round(median(runs[receiver].map(spansPerCpuSecond))),
    'MB/s': Number(((rate(receiver) / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)),
    'failed requests': runs[receiver].reduce((sum, run) => sum + run.failed, 0),
    'peak RSS MB': Math.round(Math.max(...runs[receiver].map((run) => run.peakRssBytes)) / 1e6),
    'ratio to null': receiver === 'sidecar' ? Number((rate('sidecar') / rate('null')).toFixed(2)) : 1,
    'ratio to 0 analyses (per CPU-s)': receiver === 'sidecar' ? 1 : '-',
    'ratio to Go (per CPU-s)': '-',
    'ratio to 0 analyses (per CPU-s), median of rounds': '-',
    'ratio to Go (per CPU-s), median of rounds': '-',
    'speed probe us (median)': Math.round(median(runs[receiver].map((run) => run.probeMicros))),
  }));
  return { rows, startup: [startupRow('OTLP/gRPC', 'sidecar', runs.sidecar)] };
}

/** What the output and the results say about core pinning. */
function pinningNote(): string {
  return 'unavailable' in pinning
    ? `receivers not pinned: ${pinning.unavailable}`
    : `every receiver (null, sidecar, Go peer; each a fresh process per turn) pinned to core ${pinning.receiverCore} with taskset; load generator on core(s) ${pinning.generatorCores}`;
}

async function main(): Promise<void> {
  process.stdout.write(`${pinningNote()}\n${SIDECAR_WARMUP_NOTE}\n`);
  if ((SECONDS * 1000) % SNAPSHOT_INTERVAL_MS !== 0)
    process.stdout.write(
      `BENCH_SECONDS=${SECONDS} is not a whole number of snapshot intervals: windows may hold different timer work\n`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-'));
  const payload = buildTraceRequestPayload({ spans: SPANS_PER_REQUEST });
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  const only = process.env.BENCH_INGEST_KEYS === undefined ? process.env.BENCH_INGEST_ONLY : 'http'; // quicker comparisons
  const started = performance.now();
  const none: Rows = { rows: [], startup: [] };
  const parts = [
    only === 'grpc' ? none : await realPathRows(dir, payloadFile, payload.length),
    only === 'http' ? none : await grpcRows(dir, payloadFile, payload.length),
  ];
  rmSync(dir, { recursive: true, force: true });
  const rows = parts.flatMap((part) => part.rows);
  const startup = parts.flatMap((part) => part.startup);
  const minutes = `${((performance.now() - started) / 60_000).toFixed(1)} min`;
  if (only !== undefined) {
    process.stdout.write(
      `${markdownTable(rows)}\nstart-up (each sidecar turn's warm-up)\n${markdownTable(startup)}(a subset of the rows: results not written; ${minutes})\n`,
    );
    return;
  }
  const details = {
    payloadBytes: payload.length,
    spansPerRequest: SPANS_PER_REQUEST,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    note: 'every receiver a fresh process per turn (the sidecar as `npm start` runs it), warmed up before the measured window; CPU is the receiver process’s, all threads, from /proc; OTLP/HTTP rows with analyses: one analysis matching',
    warmup: SIDECAR_WARMUP_NOTE,
    pinning: pinningNote(),
    cpu: cpus()[0]?.model ?? 'unknown',
    runMinutes: minutes,
  };
  writeResults('ingest', rows, details);
  writeResults('ingest-startup', startup, {
    ...details,
    note: "each sidecar turn's warm-up, apart from the measured window (bench/ingest.ts header): its length from the started line, spans per CPU-second of the sidecar over it, the first tick's busy time and the first snapshot's wall time under the load (the sidecar's tick and snapshot histograms); then what the judge's timers did in the window",
  });
}

/** How the windows are placed (the results say it too). */
const SIDECAR_WARMUP_NOTE = `null and Go rows: a ${WARMUP_SECONDS} s warm-up; sidecar rows: at least ${WARMUP_SECONDS} s and until the sidecar finished its first snapshot and a tick after it, ended halfway between two ticks; every window ${SECONDS} s (a whole number of ${SNAPSHOT_INTERVAL_MS / 1000} s snapshot intervals)`;

void main();
