// The fleet's one API route (src/fleet/): forwarding instances read the runs this judging instance is judging,
// with each run's effective definition (the analysis as the run started, with its arm values) and its stages,
// and attribute their spans to them.
//   GET /api/v1/fleet/runs   { runs: [{ runId, analysisId, spec, stages: [{ startedAtMs, canaryShare }] }] }
// Secrets stay here: the definition goes out without its webhook (the only field that holds one).
import type { JudgeService } from '../judge/judge-service.js';
import { sendJson, type ApiServer } from './server.js';

export function addFleetRoutes(api: ApiServer, judge: JudgeService): void {
  api.route('GET', '/api/v1/fleet/runs', (_request, response) => {
    const runs = judge.runningRuns().map(({ runId, analysisId, spec, stages }) => {
      const { webhook: _secretBearing, run: _bootRun, ...definition } = spec;
      return {
        runId,
        analysisId,
        spec: definition,
        stages: stages.map(({ startedAtMs, canaryShare }) => ({ startedAtMs, canaryShare })),
      };
    });
    sendJson(response, 200, { runs });
  });
}
