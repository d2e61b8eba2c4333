// Span-name patterns (`match.spanName`): `*` matches any run of characters, `?` one character (one UTF-16
// code unit), everything else itself. Compiled to a matcher that runs in time linear in the span name, with
// no backtracking, so no pattern and no span name can freeze the process (issue 9, case 4: the regular
// expression `^.*a.*a...b$` took exponential time on a span named `a` x 40).
//
// - Patterns without `?` match by segments: the text between stars must appear in order, the first at the
//   start and the last at the end. Greedy leftmost placement of each middle segment is optimal for such
//   patterns (a later placement never leaves more room for the rest), so each segment is searched once,
//   from where the previous one ended: one pass of String.prototype.indexOf over the name in all.
// - Patterns with `?` run as a Thompson NFA simulated with bit sets (Baeza-Yates & Gonnet's Shift-And,
//   extended with self-loops for stars): every character of the name costs O(pattern length / 32) word
//   operations, whatever the input.
// Patterns are capped at MAX_SPAN_NAME_PATTERN_CHARS, so the per-character cost is at most 9 words.

/** Longest span-name pattern accepted (config and API refuse longer ones, naming this limit). */
export const MAX_SPAN_NAME_PATTERN_CHARS = 256;

export type SpanNameMatcher = (name: string) => boolean;

export function compileSpanNameGlob(pattern: string): SpanNameMatcher {
  if (pattern.length > MAX_SPAN_NAME_PATTERN_CHARS) {
    throw new RangeError(
      `span-name pattern of ${pattern.length} characters exceeds the limit of ${MAX_SPAN_NAME_PATTERN_CHARS}`,
    );
  }
  // `**` means the same as `*`.
  const collapsed = pattern.replace(/\*{2,}/g, '*');
  if (!collapsed.includes('?')) return segmentMatcher(collapsed.split('*'));
  return nfaMatcher(collapsed);
}

/** `segments` are the literal runs between stars; one segment means no star at all. */
function segmentMatcher(segments: string[]): SpanNameMatcher {
  if (segments.length === 1) {
    const literal = segments[0];
    return (name) => name === literal;
  }
  const first = segments[0];
  const last = segments[segments.length - 1];
  const middle = segments.slice(1, -1).filter((segment) => segment !== '');
  const minimum = first.length + last.length + middle.reduce((sum, segment) => sum + segment.length, 0);
  return (name) => {
    if (name.length < minimum || !name.startsWith(first) || !name.endsWith(last)) return false;
    let from = first.length;
    const end = name.length - last.length;
    for (const segment of middle) {
      const at = name.indexOf(segment, from);
      if (at < 0 || at + segment.length > end) return false;
      from = at + segment.length;
    }
    return true;
  };
}

/**
 * State i means "the first i tokens matched"; the pattern has k tokens, and state k accepts. A token is a
 * literal character, `?`, or `*` (never two stars in a row). On a character, state i moves to i + 1 when
 * token i is `?` or that character, and stays when token i is `*`; a star also lets state i reach i + 1
 * without a character (the closure, one step since stars never follow stars).
 */
function nfaMatcher(pattern: string): SpanNameMatcher {
  const k = pattern.length;
  const words = Math.ceil((k + 1) / 32);
  const anyMask = new Uint32Array(words);
  const starMask = new Uint32Array(words);
  const charMasks = new Map<number, Uint32Array>();
  const set = (mask: Uint32Array, i: number): void => {
    mask[i >>> 5] |= 1 << (i & 31);
  };
  for (let i = 0; i < k; i++) {
    const c = pattern.charCodeAt(i);
    if (pattern[i] === '?') set(anyMask, i);
    else if (pattern[i] === '*') set(starMask, i);
    else {
      let mask = charMasks.get(c);
      if (!mask) charMasks.set(c, (mask = new Uint32Array(words)));
      set(mask, i);
    }
  }
  // Every character's mask includes the `?` positions.
  for (const mask of charMasks.values()) for (let w = 0; w < words; w++) mask[w] |= anyMask[w];
  const acceptWord = k >>> 5;
  const acceptBit = 1 << (k & 31);

  /** into = (from << 1) | into, across words. */
  const shiftOr = (from: Uint32Array, into: Uint32Array): void => {
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const value = from[w];
      into[w] |= (value << 1) | carry;
      carry = value >>> 31;
    }
  };
  const close = (states: Uint32Array, scratch: Uint32Array): void => {
    for (let w = 0; w < words; w++) scratch[w] = states[w] & starMask[w];
    shiftOr(scratch, states);
  };

  return (name) => {
    let states = new Uint32Array(words);
    let next = new Uint32Array(words);
    const scratch = new Uint32Array(words);
    states[0] = 1;
    close(states, scratch);
    for (let position = 0; position < name.length; position++) {
      const mask = charMasks.get(name.charCodeAt(position)) ?? anyMask;
      let alive = 0;
      for (let w = 0; w < words; w++) {
        scratch[w] = states[w] & mask[w];
        next[w] = states[w] & starMask[w];
      }
      shiftOr(scratch, next);
      close(next, scratch);
      for (let w = 0; w < words; w++) alive |= next[w];
      if (alive === 0) return false;
      [states, next] = [next, states];
    }
    return (states[acceptWord] & acceptBit) !== 0;
  };
}
