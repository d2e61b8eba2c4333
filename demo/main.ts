// `npm run demo` (a change that regresses and is rolled back) and `npm run demo -- --healthy` (a change
// that is promoted). `--keep` leaves the sidecar up after the summary, for curl and /metrics, until Ctrl-C;
// `--fast` runs the compressed profile the e2e tests use (shorter stages, more traffic).
import { FAST_PROFILE, STANDARD_PROFILE } from './profile.js';
import { runDemo } from './run-demo.js';

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((arg) => !['--healthy', '--keep', '--fast'].includes(arg));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown option(s): ${unknown.join(' ')}\nusage: npm run demo [-- --healthy] [--keep] [--fast]\n`,
  );
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

const healthy = args.has('--healthy');
const result = await runDemo({
  mode: healthy ? 'healthy' : 'bad',
  profile: args.has('--fast') ? FAST_PROFILE : STANDARD_PROFILE,
  hold: args.has('--keep') ? untilInterrupted : undefined,
  signal: interrupted.signal,
});
// The expected ending of each mode is success; anything else (timeout, wrong verdict) is a failed demo.
process.exit(result.verdict?.verdict === (healthy ? 'pass' : 'fail') ? 0 : 1);
