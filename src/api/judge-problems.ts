// The judge's refusals as API problems: one table from JudgeError codes to HTTP statuses.
import { JudgeError, type JudgeErrorCode } from '../judge/judge-error.js';
import { ApiProblem } from './request-body.js';

const STATUS: Record<JudgeErrorCode, number> = {
  ANALYSIS_EXISTS: 409,
  ANALYSIS_FROM_CONFIG: 409,
  ANALYSIS_LIMIT_REACHED: 409,
  ANALYSIS_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  RUN_LIMIT_REACHED: 409,
  STAGE_LIMIT_REACHED: 409,
  RUN_ENDED: 409,
  RUN_SUPERSEDED: 409,
  INVALID_RUN: 400,
};

/** Runs `work`, turning a JudgeError into the ApiProblem the router answers with. */
export function asApiProblem<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof JudgeError) throw new ApiProblem(STATUS[error.code], error.code, error.message);
    throw error;
  }
}
