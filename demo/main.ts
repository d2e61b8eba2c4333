// `npm run demo` (a change that regresses and is rolled back) and `npm run demo -- --healthy` (a change
// that is promoted). `--keep` leaves the sidecar up after the summary, for curl and /metrics, until Ctrl-C;
// `--fast` runs the compressed profile the e2e tests use (shorter stages, more traffic). `--report DIR`
// runs both (the regressing change, then the healthy one) and saves each run's report page, as Debian's
// chromium shows it, to DIR/failing-run.png and DIR/passing-run.png.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DemoMode } from './profile.js';
import { FAST_PROFILE, STANDARD_PROFILE } from './profile.js';
import { runDemo } from './run-demo.js';

const USAGE = 'usage: npm run demo [-- --healthy] [--keep] [--fast] [--report DIR]';
const argv = process.argv.slice(2);
const reportAt = argv.indexOf('--report');
const reportDir = reportAt >= 0 ? argv[reportAt + 1] : undefined;
if (reportAt >= 0 && (reportDir === undefined || reportDir.startsWith('--'))) {
  process.stderr.write(`--report needs a directory to write the screenshots to\n${USAGE}\n`);
  process.exit(2);
}
const args = new Set(reportAt >= 0 ? argv.filter((_, i) => i !== reportAt && i !== reportAt + 1) : argv);
const unknown = [...args].filter((arg) => !['--healthy', '--keep', '--fast'].includes(arg));
if (unknown.length > 0) {
  process.stderr.write(`unknown option(s): ${unknown.join(' ')}\n${USAGE}\n`);
  process.exit(2);
}
if (reportDir !== undefined && (args.has('--healthy') || args.has('--keep'))) {
  process.stderr.write(`--report runs both modes and ends: leave out --healthy and --keep\n${USAGE}\n`);
  process.exit(2);
}

// The first Ctrl-C ends the run (or the --keep wait) cleanly; everything started is stopped either way.
const interrupted = new AbortController();
const onSignal = () => interrupted.abort();
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
const untilInterrupted = () =>
  new Promise<void>((resolve) => {
    if (interrupted.signal.aborted) resolve();
    interrupted.signal.addEventListener('abort', () => resolve(), { once: true });
  });

const profile = args.has('--fast') ? FAST_PROFILE : STANDARD_PROFILE;
const expected: Record<DemoMode, string> = { bad: 'fail', healthy: 'pass' };
const modes: DemoMode[] =
  reportDir !== undefined ? ['bad', 'healthy'] : [args.has('--healthy') ? 'healthy' : 'bad'];
if (reportDir !== undefined) mkdirSync(resolve(reportDir), { recursive: true });

let ok = true;
for (const mode of modes) {
  if (interrupted.signal.aborted) break;
  const result = await runDemo({
    mode,
    profile,
    hold: args.has('--keep') ? untilInterrupted : undefined,
    signal: interrupted.signal,
    ...(reportDir !== undefined && {
      reportScreenshot: join(resolve(reportDir), mode === 'bad' ? 'failing-run.png' : 'passing-run.png'),
    }),
  });
  // The expected ending of each mode is success; anything else (timeout, wrong verdict, a page error) is
  // a failed demo.
  ok &&= result.verdict?.verdict === expected[mode] && (result.report?.pageErrors.length ?? 0) === 0;
  if (reportDir !== undefined && !result.report) ok = false;
}
process.exit(ok ? 0 : 1);
