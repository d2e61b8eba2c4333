// The simulated rollouts of the detection benchmark (bench/detection.ts) and its quick variant
// (bench/sim/quick-detection.ts), in one place so both run the same seeds.
//
// Base: 500 rps, 10% canary, evaluated every 5 s for at most 30 simulated minutes; baseline 1% errors,
// latency lognormal with median 50 ms and sigma 0.5, spans.
import { type ArmLaw, oneStage, type Scenario, type StagePlan } from './canary-simulation.js';
import { normalQuantile } from '../../src/stats/normal-distribution.js';

const Z95 = normalQuantile(0.95);
export const BASE_LAW: ArmLaw = { errorRate: 0.01, mu: Math.log(50e6), sigma: 0.5 };
export const RUN_SECONDS = 1800;

export function baseScenario(canary: ArmLaw = BASE_LAW, extra: Partial<Scenario> = {}): Scenario {
  return {
    rps: 500,
    tickSeconds: 5,
    stages: oneStage(RUN_SECONDS, 0.1),
    baseline: BASE_LAW,
    canary,
    ...extra,
  };
}

/** Flagger-style ramp 10 -> 20 -> 30 -> 40 -> 50%, 6 minutes per step, each step declared. */
export const RAMP: StagePlan[] = [0.1, 0.2, 0.3, 0.4, 0.5].map((share) => ({
  seconds: 360,
  canaryShare: share,
  declaredShare: share,
}));

export const LAWS = {
  errors2x: { ...BASE_LAW, errorRate: 0.02 },
  tail: { ...BASE_LAW, sigma: BASE_LAW.sigma + Math.log(1.2) / Z95 },
  scale: { ...BASE_LAW, mu: BASE_LAW.mu + Math.log(1.2) },
  slower5: { ...BASE_LAW, mu: BASE_LAW.mu + Math.log(1.05) },
  slower30: { ...BASE_LAW, mu: BASE_LAW.mu + Math.log(1.3) },
  ramped: { ...BASE_LAW, errorRate: 0.03, mu: BASE_LAW.mu + Math.log(1.5) },
} satisfies Record<string, ArmLaw>;

export interface NamedScenario {
  key: string;
  name: string;
  /** 'aa': counts false fails; 'power': time to fail; 'healthy': pass time and split failures. */
  kind: 'aa' | 'power' | 'healthy';
  scenario: Scenario;
  /** Judge the latency mean too (explicit buckets). */
  mean?: boolean;
  seedBase: number;
}

export const AA_SCENARIOS: NamedScenario[] = [
  { key: 'aa', name: 'A/A lognormal', kind: 'aa', scenario: baseScenario(), seedBase: 1_000_000 },
  {
    key: 'aa-2rps',
    name: 'A/A 2 rps',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { rps: 2 }),
    seedBase: 3_000_000,
  },
  {
    key: 'aa-ties',
    name: 'A/A latencies rounded to 10 ms',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { latency: { roundToNanos: 10e6 } }),
    seedBase: 3_100_000,
  },
  {
    key: 'aa-rare',
    name: 'A/A 0.1% errors',
    kind: 'aa',
    scenario: (() => {
      const law = { ...BASE_LAW, errorRate: 0.001 };
      return { ...baseScenario(law), baseline: law };
    })(),
    seedBase: 3_200_000,
  },
  {
    key: 'aa-share1',
    name: 'A/A 1% canary share',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { stages: oneStage(RUN_SECONDS, 0.01) }),
    seedBase: 3_300_000,
  },
  {
    key: 'aa-drift',
    name: 'A/A shared latency drift x2',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { latencyDrift: 2 }),
    seedBase: 3_400_000,
  },
  {
    key: 'aa-shared-bursts',
    name: 'A/A shared error bursts of 20',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { errors: { burst: 20, shared: true } }),
    seedBase: 3_500_000,
  },
  {
    key: 'aa-bursts',
    name: 'A/A in-arm error bursts of 20',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { errors: { burst: 20, shared: false } }),
    seedBase: 3_600_000,
  },
  {
    key: 'aa-explicit',
    name: 'A/A OTel default explicit buckets',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { latency: 'explicit' }),
    mean: true,
    seedBase: 3_700_000,
  },
  {
    key: 'aa-ramp-drift',
    name: 'A/A ramp 10->50% with latency drift x2',
    kind: 'aa',
    scenario: baseScenario(BASE_LAW, { stages: RAMP, latencyDrift: 2 }),
    seedBase: 3_800_000,
  },
];

export const POWER_SCENARIOS: NamedScenario[] = [
  {
    key: 'error',
    name: 'error rate 1% -> 2%',
    kind: 'power',
    scenario: baseScenario(LAWS.errors2x),
    seedBase: 2_100_000,
  },
  {
    key: 'tail',
    name: 'p95 +20% (tail, median same)',
    kind: 'power',
    scenario: baseScenario(LAWS.tail),
    seedBase: 2_200_000,
  },
  {
    key: 'scale',
    name: 'all latencies x1.2',
    kind: 'power',
    scenario: baseScenario(LAWS.scale),
    seedBase: 2_300_000,
  },
  {
    key: 'error-bursts',
    name: 'error rate 1% -> 2%, in-arm bursts of 20',
    kind: 'power',
    scenario: baseScenario(LAWS.errors2x, { errors: { burst: 20, shared: false } }),
    seedBase: 4_000_000,
  },
  {
    key: 'explicit-30',
    name: 'explicit buckets, all latencies x1.3',
    kind: 'power',
    scenario: baseScenario(LAWS.slower30, { latency: 'explicit' }),
    mean: true,
    seedBase: 4_100_000,
  },
  {
    key: 'explicit-5',
    name: 'explicit buckets, all latencies x1.05 (within tolerance: must not fail)',
    kind: 'power',
    scenario: baseScenario(LAWS.slower5, { latency: 'explicit' }),
    mean: true,
    seedBase: 4_200_000,
  },
  {
    key: 'ramp-regression',
    name: 'ramp 10->50%, errors x3 and latency x1.5 from the 30% step',
    kind: 'power',
    scenario: baseScenario(LAWS.ramped, { stages: RAMP, canaryFromStage: 2 }),
    seedBase: 4_300_000,
  },
  {
    key: 'ramp-healthy',
    name: 'ramp 10->50%, healthy canary',
    kind: 'healthy',
    scenario: baseScenario(BASE_LAW, { stages: RAMP }),
    seedBase: 4_400_000,
  },
];

export const ALL_SCENARIOS = [...AA_SCENARIOS, ...POWER_SCENARIOS];
