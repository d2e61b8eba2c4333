// Brent's root finder (bisection with inverse linear/quadratic interpolation), following the ZEROIN
// algorithm of Forsythe, Malcolm and Moler, "Computer Methods for Mathematical Computations" (1977), in the
// variant R's uniroot() calls with f(a) and f(b) already known. Hodges-Lehmann intervals have to reproduce
// R's answers and R's root is wherever this iteration stops inside a step of a step function, so the
// iteration order and the stopping rule are kept exactly.

const EPSILON = 2.220446049250313e-16;

export function brentRoot(
  f: (x: number) => number,
  ax: number,
  bx: number,
  fAtA: number,
  fAtB: number,
  tol: number,
  maxIterations = 1000,
): number {
  let a = ax;
  let b = bx;
  let fa = fAtA;
  let fb = fAtB;
  let c = a;
  let fc = fa;
  if (fa === 0) return a;
  if (fb === 0) return b;
  for (let iteration = 0; iteration <= maxIterations; iteration++) {
    const prevStep = b - a;
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tolAct = 2 * EPSILON * Math.abs(b) + tol / 2;
    let newStep = (c - b) / 2;
    if (Math.abs(newStep) <= tolAct || fb === 0) return b;
    if (Math.abs(prevStep) >= tolAct && Math.abs(fa) > Math.abs(fb)) {
      let p: number;
      let q: number;
      const cb = c - b;
      if (a === c) {
        const t1 = fb / fa;
        p = cb * t1;
        q = 1 - t1;
      } else {
        const qq = fa / fc;
        const t1 = fb / fc;
        const t2 = fb / fa;
        p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1));
        q = (qq - 1) * (t1 - 1) * (t2 - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (p < 0.75 * cb * q - Math.abs(tolAct * q) / 2 && p < Math.abs((prevStep * q) / 2)) newStep = p / q;
    }
    if (Math.abs(newStep) < tolAct) newStep = newStep > 0 ? tolAct : -tolAct;
    a = b;
    fa = fb;
    b += newStep;
    fb = f(b);
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
    }
  }
  return b;
}
