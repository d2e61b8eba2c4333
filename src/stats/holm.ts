// Holm's step-down procedure (Holm, "A simple sequentially rejective multiple test procedure", Scand. J.
// Stat. 1979): sort p ascending, reject p_(i) while p_(i) <= alpha / (m - i) (0-based i). It controls the
// family-wise error at alpha for any dependence, and applies to always-valid p-values at any stopping time.

/** Which hypotheses Holm rejects, in input order. */
export function holmRejections(pValues: number[], alpha: number): boolean[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const rejected = new Array<boolean>(m).fill(false);
  for (let k = 0; k < m; k++) {
    if (order[k].p <= alpha / (m - k)) rejected[order[k].i] = true;
    else break;
  }
  return rejected;
}
