// Argo Rollouts' measurement evaluation, transcribed from argoproj/argo-rollouts utils/evaluate/evaluate.go at
// commit 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d (EvaluateResult, EvalCondition).
//
// Argo compiles successCondition/failureCondition with expr-lang, with `result` bound to the measured value.
// This file evaluates the subset of expr-lang that AnalysisTemplates use for a JSON verdict: `result` and member
// access (`result.verdict`, `result["action"]`), string/number/bool/nil literals, `==`, `!=`, `!`/`not`,
// `&&`/`and`, `||`/`or` and parentheses. Anything else is refused loudly, so a template using more expr-lang
// cannot be mistaken for tested. expr-lang semantics kept: a missing map key is nil (`result.x == "y"` is
// false), member access on a non-map value is an error, `&&`/`||` need bools, and a condition must yield a bool
// ("expected bool, but got ...").
export type AnalysisPhase = 'Pending' | 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

type Token = { kind: 'op' | 'name' | 'string' | 'number'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(==|!=|&&|\|\||[!().[\]])|([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|([0-9]+(?:\.[0-9]+)?))/y;
  let index = 0;
  while (index < source.length) {
    if (/^\s*$/.test(source.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(source);
    if (!match) throw new Error(`unsupported expression syntax at ${index}: ${source.slice(index)}`);
    index = pattern.lastIndex;
    if (match[1]) tokens.push({ kind: 'op', text: match[1] });
    else if (match[2]) tokens.push({ kind: 'name', text: match[2] });
    else if (match[3]) tokens.push({ kind: 'string', text: JSON.parse(match[3]) as string });
    else tokens.push({ kind: 'number', text: match[4] });
  }
  return tokens;
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function requireBool(value: unknown, operator: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`invalid operation: ${operator} on ${typeof value}`);
  return value;
}

/** Evaluates one condition against `result`; throws where expr-lang would fail to compile or run it. */
export function evalCondition(result: unknown, condition: string): boolean {
  const tokens = tokenize(condition);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const take = (text?: string): Token => {
    const token = tokens[position];
    if (!token || (text !== undefined && token.text !== text)) {
      throw new Error(`expected ${text ?? 'a token'} at token ${position} of ${condition}`);
    }
    position += 1;
    return token;
  };
  const isOp = (...texts: string[]) => {
    const token = peek();
    return (
      token !== undefined && (token.kind === 'op' || token.kind === 'name') && texts.includes(token.text)
    );
  };

  const primary = (): unknown => {
    const token = take();
    if (token.kind === 'op' && token.text === '(') {
      const value = or();
      take(')');
      return value;
    }
    if (token.kind === 'string') return token.text;
    if (token.kind === 'number') return Number(token.text);
    if (token.kind !== 'name') throw new Error(`unexpected ${token.text}`);
    if (token.text === 'true' || token.text === 'false') return token.text === 'true';
    if (token.text === 'nil') return null;
    if (token.text !== 'result') throw new Error(`unknown name ${token.text} (only result is transcribed)`);
    let value: unknown = result;
    for (;;) {
      let key: string;
      if (isOp('.')) {
        take('.');
        key = take().text;
      } else if (isOp('[')) {
        take('[');
        const index = take();
        if (index.kind !== 'string') throw new Error('only string keys are transcribed');
        key = index.text;
        take(']');
      } else {
        return value;
      }
      if (!isMap(value)) throw new Error(`type ${typeof value} has no field ${key}`);
      value = key in value ? value[key] : null;
    }
  };
  const unary = (): unknown => {
    if (isOp('!', 'not')) {
      take();
      return !requireBool(unary(), '!');
    }
    return primary();
  };
  const equality = (): unknown => {
    let left = unary();
    while (isOp('==', '!=')) {
      const operator = take().text;
      const right = unary();
      const equal = left === right;
      left = operator === '==' ? equal : !equal;
    }
    return left;
  };
  const and = (): unknown => {
    let left = equality();
    while (isOp('&&', 'and')) {
      take();
      const right = equality();
      left = requireBool(left, '&&') && requireBool(right, '&&');
    }
    return left;
  };
  const or = (): unknown => {
    let left = and();
    while (isOp('||', 'or')) {
      take();
      const right = and();
      left = requireBool(left, '||') || requireBool(right, '||');
    }
    return left;
  };

  const output = or();
  if (position !== tokens.length) throw new Error(`unexpected ${tokens[position].text} in ${condition}`);
  if (typeof output !== 'boolean') throw new Error(`expected bool, but got ${typeof output}`);
  return output;
}

/**
 * EvaluateResult: with both conditions set, failure wins, success alone is Successful, neither is
 * Inconclusive; with only one set, the other is its negation; with none, Successful. An evaluation error is
 * Error (`could not evaluate <which> "<expression>": ...`).
 */
export function evaluateResult(
  result: unknown,
  metric: { successCondition?: string; failureCondition?: string },
): { phase: AnalysisPhase; message?: string } {
  let success = false;
  let failure = false;
  for (const [which, expression] of [
    ['successCondition', metric.successCondition],
    ['failureCondition', metric.failureCondition],
  ] as const) {
    if (!expression) continue;
    try {
      const value = evalCondition(result, expression);
      if (which === 'successCondition') success = value;
      else failure = value;
    } catch (error) {
      return {
        phase: 'Error',
        message: `could not evaluate ${which} "${expression}": ${(error as Error).message}`,
      };
    }
  }
  if (!metric.successCondition && !metric.failureCondition) return { phase: 'Successful' };
  if (metric.successCondition && !metric.failureCondition) failure = !success;
  if (!metric.successCondition && metric.failureCondition) success = !failure;
  if (failure) return { phase: 'Failed' };
  if (!success) return { phase: 'Inconclusive' };
  return { phase: 'Successful' };
}
