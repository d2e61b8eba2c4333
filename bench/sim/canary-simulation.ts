// A seeded canary rollout simulation: requests arrive at `rps`; each goes to the canary with the current
// stage's share, fails with its arm's error rate (independently, or in bursts) and takes a lognormal latency
// (optionally drifting over the run, rounded, or reported as OTel explicit-bucket histogram points). Every
// `tickSeconds` the same simulated data is shown to several judges, so their false-fail rates and detection
// times compare fairly. Evidence is kept per stage (what the judge's accumulator does) and pooled.
import { ArmState } from '../../src/accumulate/arm-state.js';
import { LognormalBuckets } from './lognormal-buckets.js';
import { Random } from './random.js';

export interface ArmLaw {
  errorRate: number;
  /** ln(latency ns) ~ Normal(mu, sigma). */
  mu: number;
  sigma: number;
}

/** A stage of the rollout: its length, the share the canary really gets, and the share declared to the judge. */
export interface StagePlan {
  seconds: number;
  canaryShare: number;
  declaredShare: number | null;
}

/** OpenTelemetry's default explicit bounds for http.server.request.duration (semantic conventions), in s. */
export const OTEL_DEFAULT_DURATION_BOUNDS_SECONDS = [
  0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

export interface Scenario {
  rps: number;
  tickSeconds: number;
  stages: StagePlan[];
  baseline: ArmLaw;
  canary: ArmLaw;
  /** The canary follows its own law from this stage on (a regression from that step); before, the baseline's. */
  canaryFromStage?: number;
  /** Every latency of both arms is multiplied by a factor growing log-linearly from 1 to this over the run. */
  latencyDrift?: number;
  /**
   * 'independent' errors, or bursts of `burst` consecutive errors: inside one arm (`shared` false: each arm's
   * own pod restarts) or hitting both arms at once (`shared` true: a dependency outage). Same long-run rates.
   */
  errors?: 'independent' | { burst: number; shared: boolean };
  /**
   * 'spans': exact latencies into the accumulator's histogram (drawn bucket by bucket); 'explicit': one OTel
   * explicit-bucket point per arm and tick (default bounds, with sum and max); or latencies rounded to a grid.
   */
  latency?: 'spans' | 'explicit' | { roundToNanos: number };
}

/** One stage of the simulated evidence: cumulative over that stage. */
export interface StageData {
  baseline: ArmState;
  canary: ArmState;
  declaredShare: number | null;
}

export interface TickData {
  elapsedSeconds: number;
  /** Per stage, oldest first; the last is current. */
  stages: StageData[];
  /** Pooled over every stage since the start. */
  cumulative: { baseline: ArmState; canary: ArmState };
  /** This tick only. */
  delta: { baseline: ArmState; canary: ArmState };
}

/** A decision rule under test; `observe` returns true once it has failed the canary. */
export interface SimulatedJudge {
  readonly name: string;
  observe(tick: TickData): boolean;
}

export interface RunOutcome {
  /** Seconds to the first fail, or null when the judge never failed within the run. */
  failSeconds: Record<string, number | null>;
}

/** A one-stage scenario (the share declared as it is). */
export function oneStage(seconds: number, canaryShare: number): StagePlan[] {
  return [{ seconds, canaryShare, declaredShare: canaryShare }];
}

export function scenarioSeconds(s: Scenario): number {
  return s.stages.reduce((a, b) => a + b.seconds, 0);
}

const lawCache = new Map<string, LognormalBuckets>();
function buckets(mu: number, sigma: number): LognormalBuckets {
  const key = `${mu}/${sigma}`;
  let b = lawCache.get(key);
  if (!b) {
    if (lawCache.size > 4000) lawCache.clear();
    b = new LognormalBuckets(mu, sigma);
    lawCache.set(key, b);
  }
  return b;
}

const boundsNanos = OTEL_DEFAULT_DURATION_BOUNDS_SECONDS.map((s) => Math.round(s * 1e9));

/** n latencies of the law (shifted by `logShift`) into `arm`, in the scenario's representation. */
function drawLatencies(
  arm: ArmState,
  law: ArmLaw,
  logShift: number,
  n: number,
  s: Scenario,
  random: Random,
): void {
  const mode = s.latency ?? 'spans';
  if (n === 0) return;
  if (mode === 'spans') {
    buckets(law.mu + logShift, law.sigma).drawInto(arm.latency, n, random);
    // The simulated spans' exact sum is not needed by the span judges; keep the arm consistent anyway.
    arm.latencyValuesWithoutSum += n;
    return;
  }
  if (mode === 'explicit') {
    const counts = new Array<number>(boundsNanos.length + 1).fill(0);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const x = Math.exp(law.mu + logShift + law.sigma * random.normal());
      sum += x;
      if (x > max) max = x;
      let lo = 0;
      let hi = boundsNanos.length; // first bound >= x, or the overflow bucket
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (boundsNanos[mid] >= x) hi = mid;
        else lo = mid + 1;
      }
      counts[lo]++;
    }
    arm.recordHistogram({
      count: 0,
      errors: 0,
      explicit: { bounds: boundsNanos, bucketCounts: counts },
      sumNanos: sum,
      maxNanos: max,
    });
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = Math.exp(law.mu + logShift + law.sigma * random.normal());
    const rounded = Math.round(x / mode.roundToNanos) * mode.roundToNanos;
    arm.latency.record(rounded);
    arm.latencySumNanos += rounded;
  }
}

/** Error counts of one arm for one tick, with bursts that may run into the next tick. */
class ErrorSource {
  private carried = 0;
  constructor(private readonly burst: number) {}

  draw(n: number, rate: number, random: Random): number {
    if (this.burst <= 1) return random.binomial(n, rate);
    let errors = Math.min(n, this.carried);
    this.carried -= errors;
    const bursts = random.poisson((n * rate) / this.burst);
    for (let b = 0; b < bursts; b++) {
      // A burst hits `burst` consecutive requests of this arm starting anywhere in the tick.
      const start = Math.floor(random.uniform() * n);
      const now = Math.min(this.burst, n - start);
      errors += now;
      this.carried += this.burst - now;
    }
    return Math.min(n, errors);
  }
}

export function runScenario(scenario: Scenario, seed: number, judges: SimulatedJudge[]): RunOutcome {
  const random = new Random(seed);
  const cumulative = { baseline: new ArmState(), canary: new ArmState() };
  const stages: StageData[] = [];
  const failSeconds: Record<string, number | null> = {};
  for (const j of judges) failSeconds[j.name] = null;
  let active = judges.slice();
  const perTick = Math.max(0, Math.round(scenario.rps * scenario.tickSeconds));
  const total = scenarioSeconds(scenario);
  const mode = scenario.errors ?? 'independent';
  const burst = mode === 'independent' ? 1 : mode.burst;
  const sources = {
    baseline: new ErrorSource(mode !== 'independent' && !mode.shared ? burst : 1),
    canary: new ErrorSource(mode !== 'independent' && !mode.shared ? burst : 1),
  };
  // Drift steps every 30 s, so the alias tables of the spans path stay few.
  const driftAt = (t: number): number =>
    scenario.latencyDrift ? (Math.log(scenario.latencyDrift) * Math.floor(t / 30) * 30) / total : 0;
  let stageIndex = -1;
  let stageEnd = 0;
  for (let t = scenario.tickSeconds; t <= total && active.length > 0; t += scenario.tickSeconds) {
    while (t > stageEnd) {
      stageIndex++;
      stageEnd += scenario.stages[stageIndex].seconds;
      stages.push({
        baseline: new ArmState(),
        canary: new ArmState(),
        declaredShare: scenario.stages[stageIndex].declaredShare,
      });
    }
    const plan = scenario.stages[stageIndex];
    const canaryLaw = stageIndex >= (scenario.canaryFromStage ?? 0) ? scenario.canary : scenario.baseline;
    const canaryRequests = random.binomial(perTick, plan.canaryShare);
    const delta = { baseline: new ArmState(), canary: new ArmState() };
    const n = { baseline: perTick - canaryRequests, canary: canaryRequests };
    const laws = { baseline: scenario.baseline, canary: canaryLaw };
    let sharedErrors: { baseline: number; canary: number } | undefined;
    if (mode !== 'independent' && mode.shared) {
      // Outages hit `burst` consecutive requests of the whole stream; each lands in an arm by its share.
      sharedErrors = { baseline: 0, canary: 0 };
      const outages = random.poisson((perTick * scenario.baseline.errorRate) / burst);
      for (let o = 0; o < outages; o++) {
        const c = random.binomial(burst, plan.canaryShare);
        sharedErrors.canary += c;
        sharedErrors.baseline += burst - c;
      }
      // A regressed canary's extra errors arrive independently on top.
      const extra = Math.max(0, canaryLaw.errorRate - scenario.baseline.errorRate);
      sharedErrors.canary += random.binomial(n.canary, extra);
    }
    for (const arm of ['baseline', 'canary'] as const) {
      const state = delta[arm];
      state.requests = n[arm];
      state.errors = sharedErrors
        ? Math.min(n[arm], sharedErrors[arm])
        : sources[arm].draw(n[arm], laws[arm].errorRate, random);
      drawLatencies(state, laws[arm], driftAt(t), n[arm], scenario, random);
      cumulative[arm].mergeFrom(state);
      stages[stageIndex][arm].mergeFrom(state);
    }
    const tick: TickData = { elapsedSeconds: t, stages, cumulative, delta };
    active = active.filter((j) => {
      if (!j.observe(tick)) return true;
      failSeconds[j.name] = t;
      return false;
    });
  }
  return { failSeconds };
}
