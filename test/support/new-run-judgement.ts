// A run's judgement as the judge creates it when a run starts: run-1 of revision rev-a, attempt 1, one stage at a
// 20% canary share from `startMs`, nothing judged yet.
import { RunJudgement } from '../../src/judge/run-judgement.js';
import { initialDocument, type RunIdentity, type StageRecord } from '../../src/judge/verdict-document.js';
import { initialSequentialState } from '../../src/stats/analysis-policy.js';

export function newRunJudgement(
  spec: ConstructorParameters<typeof RunJudgement>[1],
  startMs: number,
): RunJudgement {
  const identity: RunIdentity = {
    analysisId: spec.id,
    runId: 'run-1',
    revision: 'rev-a',
    attempt: 1,
    state: 'running',
    startedAtMs: startMs,
    endedAtMs: null,
    endReason: null,
  };
  const stages: StageRecord[] = [{ startedAtMs: startMs, canaryShare: 0.2, declaredBy: 'api' }];
  return new RunJudgement(
    identity,
    spec,
    stages,
    initialDocument(identity, stages),
    initialSequentialState(),
    startMs,
  );
}
