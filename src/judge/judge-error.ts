// The judge's refusals, with stable codes the API maps to HTTP statuses (src/api/judge-problems.ts).
export type JudgeErrorCode =
  | 'ANALYSIS_EXISTS'
  | 'ANALYSIS_FROM_CONFIG'
  | 'ANALYSIS_LIMIT_REACHED'
  | 'ANALYSIS_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'RUN_LIMIT_REACHED'
  /** The run has MAX_STAGES_PER_RUN stages: each keeps its own evidence, so their number is bounded. */
  | 'STAGE_LIMIT_REACHED'
  /** The run ended (fail, inconclusive, aborted): it takes no new stages and is never re-opened. */
  | 'RUN_ENDED'
  /** A newer revision of the analysis has started: this run is read-only. */
  | 'RUN_SUPERSEDED'
  | 'INVALID_RUN';

export class JudgeError extends Error {
  constructor(
    readonly code: JudgeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JudgeError';
  }
}
