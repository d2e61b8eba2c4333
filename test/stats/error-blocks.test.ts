import { describe, expect, it } from 'vitest';
import { closeBlock, designEffect, emptyErrorBlocks } from '../../src/stats/error-blocks.js';
import type { ErrorBlockState } from '../../src/stats/analysis-policy.js';

/** The blocks' state after cumulative counts arrive tick by tick. */
function feed(blocks: [number, number][]): ErrorBlockState {
  let state = emptyErrorBlocks();
  let requests = 0;
  let errors = 0;
  for (const [n, e] of blocks) {
    requests += n;
    errors += e;
    state = closeBlock(state, requests, errors);
  }
  return state;
}

/** The cluster-robust design effect computed directly from the blocks. */
function direct(blocks: [number, number][]): number {
  const n = blocks.reduce((s, [b]) => s + b, 0);
  const e = blocks.reduce((s, [, x]) => s + x, 0);
  const p = e / n;
  const spread = blocks.reduce((s, [b, x]) => s + (x - p * b) ** 2, 0);
  return Math.max(1, ((spread / (n * p * (1 - p))) * blocks.length) / (blocks.length - 1));
}

describe('error blocks', () => {
  it('the design effect from running sums equals the direct cluster-robust computation', () => {
    const bursty: [number, number][] = [
      [250, 0],
      [260, 20],
      [240, 0],
      [255, 1],
      [245, 20],
      [250, 0],
    ];
    expect(designEffect(feed(bursty))).toBeCloseTo(direct(bursty), 10);
    expect(designEffect(feed(bursty))).toBeGreaterThan(10);
  });

  it('is 1 for errors spread evenly (never below the binomial variance), for no errors, and for a single block', () => {
    expect(
      designEffect(
        feed([
          [100, 1],
          [100, 1],
          [100, 1],
          [100, 1],
        ]),
      ),
    ).toBe(1);
    expect(
      designEffect(
        feed([
          [100, 0],
          [100, 0],
        ]),
      ),
    ).toBe(1);
    expect(designEffect(feed([[100, 30]]))).toBe(1);
  });

  it('a tick with nothing new closes no block; counts that went down start over', () => {
    let s = feed([
      [100, 1],
      [100, 2],
    ]);
    expect(closeBlock(s, 200, 3)).toEqual(s);
    s = closeBlock(s, 50, 0);
    expect([s.blocks, s.requests, s.sumRequestsSquared]).toEqual([1, 50, 2500]);
  });
});
