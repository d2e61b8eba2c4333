// The span-name glob matcher (issue 9, case 4): the same answers as the regular expression it replaces on
// random patterns and names, in linear time on the input that froze the process, and a length cap that
// names its limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SPAN_NAME_PATTERN_CHARS, compileSpanNameGlob } from '../../src/attribution/span-name-glob.js';
import { analysisSchema } from '../../src/config/analysis.js';

/** The old implementation, as the reference on inputs small enough for it. */
function reference(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, 's');
}

const alphabet = fc.constantFrom('a', 'b', '/', '.', '(', '\n', 'é');
const patternChar = fc.oneof(alphabet, fc.constantFrom('*', '?'));

describe('span-name globs', () => {
  it('agree with the regular expression on 3,000 random patterns and names', () => {
    fc.assert(
      fc.property(
        fc.array(patternChar, { maxLength: 12 }).map((chars) => chars.join('')),
        fc.array(alphabet, { maxLength: 16 }).map((chars) => chars.join('')),
        (pattern, name) => {
          expect(compileSpanNameGlob(pattern)(name)).toBe(reference(pattern).test(name));
        },
      ),
      { numRuns: 3000, seed: 20261201 },
    );
  });

  it('agree on names that match, built from the pattern (1,000 cases)', () => {
    fc.assert(
      fc.property(
        fc.array(patternChar, { maxLength: 40 }),
        fc.array(alphabet, { maxLength: 6 }),
        (chars, fill) => {
          const pattern = chars.join('');
          const name = chars.map((c) => (c === '*' ? fill.join('') : c === '?' ? 'x' : c)).join('');
          expect(compileSpanNameGlob(pattern)(name)).toBe(true);
        },
      ),
      { numRuns: 1000, seed: 20261202 },
    );
  });

  it('answers the pattern that froze the process at once, on names up to 1 MB', () => {
    // `*a` x 12 + `b`: the regular expression backtracked through every split of the name.
    const starsOnly = compileSpanNameGlob(`${'*a'.repeat(12)}b`);
    expect(starsOnly('a'.repeat(40))).toBe(false);
    expect(starsOnly('a'.repeat(1_000_000))).toBe(false);
    expect(starsOnly(`${'a'.repeat(1_000_000)}b`)).toBe(true);
    const withAny = compileSpanNameGlob(`${'*a?'.repeat(40)}b`);
    expect(withAny('a'.repeat(200_000))).toBe(false);
    expect(withAny(`${'ax'.repeat(40)}b`)).toBe(true);
  });

  it(`refuses patterns longer than ${MAX_SPAN_NAME_PATTERN_CHARS} characters, naming the limit`, () => {
    expect(() => compileSpanNameGlob('*a'.repeat(450_000))).toThrowError(/limit of 256/);
    const parsed = analysisSchema.safeParse({
      id: 'x',
      match: { spanName: `${'*a'.repeat(200)}b` },
      variant: { attribute: 'v' },
      baseline: '1',
      canary: '2',
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0].message).toMatch(/at most 256 characters/);
  });
});
