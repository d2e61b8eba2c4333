// Validation messages in our words. zod's own English ("Too big: expected number to be <0.5") is replaced
// for every schema in the process by one error map installed at import (zod 4 `config({ customError })`);
// a message a schema states itself still wins. formatIssues (load.ts) adds the field and the value found.
import * as z from 'zod';

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
  null: 'null',
};

function quantity(origin: string, bound: number | bigint): string {
  if (origin === 'string') return `${bound} character${bound === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `${bound} item${bound === 1 ? '' : 's'}`;
  return String(bound);
}

/** Our sentence for one zod issue, or undefined to keep zod's (only for codes zod may add later). */
export function validationMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_big': {
      const size = quantity(issue.origin, issue.maximum);
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set')
        return `must have at most ${size}`;
      return `must be ${issue.inclusive ? 'at most' : 'below'} ${size}`;
    }
    case 'too_small': {
      const size = quantity(issue.origin, issue.minimum);
      if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set')
        return `must have at least ${size}`;
      return `must be ${issue.inclusive ? 'at least' : 'above'} ${size}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'expected a URL';
      if (issue.format === 'regex') return 'has characters or a form that is not allowed here';
      return `expected a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return 'unknown field';
    case 'invalid_union':
      return 'matches none of the accepted forms';
    case 'invalid_key':
      return 'has a key that is not accepted';
    case 'invalid_element':
      return 'has an element that is not accepted';
    case 'custom':
      return 'is not valid';
    default:
      return undefined;
  }
}

z.config({ customError: validationMessage });

/**
 * A JSON syntax error in our words, with the line and column but none of the text: V8's message quotes
 * the input ("Unexpected token 's', \"secret...\" is not valid JSON"), and the input may hold secrets.
 */
export function jsonSyntaxProblem(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : '';
  const position = /at position (\d+)/.exec(message);
  if (position) {
    const offset = Number(position[1]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return `not valid JSON: unexpected character at line ${line}, column ${column}`;
  }
  if (/end of JSON input/i.test(message)) return 'not valid JSON: it ends before the value is complete';
  return 'not valid JSON';
}
