// A seeded canary rollout simulation: requests arrive at `rps`, each goes to the canary with probability
// `canaryShare`, fails with its arm's error rate and takes a lognormal latency. Every `tickSeconds` the same
// simulated data is shown to several judges, so their false-fail rates and detection times compare fairly.
import { ArmState } from '../../src/accumulate/arm-state.js';
import { LognormalBuckets } from './lognormal-buckets.js';
import { Random } from './random.js';

export interface ArmLaw {
  errorRate: number;
  /** ln(latency ns) ~ Normal(mu, sigma). */
  mu: number;
  sigma: number;
}

export interface Scenario {
  rps: number;
  canaryShare: number;
  tickSeconds: number;
  durationSeconds: number;
  baseline: ArmLaw;
  canary: ArmLaw;
}

export interface TickData {
  elapsedSeconds: number;
  /** Cumulative since the start. */
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

const lawCache = new Map<string, LognormalBuckets>();
function buckets(law: ArmLaw): LognormalBuckets {
  const key = `${law.mu}/${law.sigma}`;
  let b = lawCache.get(key);
  if (!b) {
    b = new LognormalBuckets(law.mu, law.sigma);
    lawCache.set(key, b);
  }
  return b;
}

export function runScenario(scenario: Scenario, seed: number, judges: SimulatedJudge[]): RunOutcome {
  const random = new Random(seed);
  const cumulative = { baseline: new ArmState(), canary: new ArmState() };
  const failSeconds: Record<string, number | null> = {};
  for (const j of judges) failSeconds[j.name] = null;
  let active = judges.slice();
  const perTick = scenario.rps * scenario.tickSeconds;
  for (
    let t = scenario.tickSeconds;
    t <= scenario.durationSeconds && active.length > 0;
    t += scenario.tickSeconds
  ) {
    const canaryRequests = random.binomial(perTick, scenario.canaryShare);
    const delta = { baseline: new ArmState(), canary: new ArmState() };
    for (const [arm, n] of [
      ['baseline', perTick - canaryRequests],
      ['canary', canaryRequests],
    ] as const) {
      const law = scenario[arm];
      const state = delta[arm];
      state.requests = n;
      state.errors = random.binomial(n, law.errorRate);
      buckets(law).drawInto(state.latency, n, random);
      cumulative[arm].mergeFrom(state);
    }
    const tick: TickData = { elapsedSeconds: t, cumulative, delta };
    active = active.filter((j) => {
      if (!j.observe(tick)) return true;
      failSeconds[j.name] = t;
      return false;
    });
  }
  return { failSeconds };
}
