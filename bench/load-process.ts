// A benchmark's load generator (load-generator.ts) as a child process: its counts when it ends, by itself at its
// deadline or early on stop() (SIGTERM: it sends nothing more, waits for the requests in flight and prints its
// counts). bench/ingest.ts runs a sidecar's warm-up load so, and stops it once the sidecar is warm.
import { spawn } from 'node:child_process';

/** What a generator prints: requests answered with success and not, and how long it ran. */
export interface LoadCounts {
  ok: number;
  failed: number;
  elapsedSeconds: number;
}

export interface LoadProcess {
  /** The counts, or why there are none (it exited non-zero or on a signal). */
  done: Promise<LoadCounts>;
  /** Whether it has exited (by itself, or stopped). */
  exited(): boolean;
  /** Ends it early; resolves as `done`. */
  stop(): Promise<LoadCounts>;
}

/** Starts `command args` (taskset execs the generator, so a signal to the child reaches it). */
export function spawnLoad(command: string, args: string[]): LoadProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const done = new Promise<LoadCounts>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exited = true;
      if (code !== 0) reject(new Error(`load generator exited (${code ?? signal})`));
      else resolve(JSON.parse(output.trim().split('\n').pop()!) as LoadCounts);
    });
  });
  // Nobody awaits `done` while a warm-up polls the sidecar (up to BENCH_WARMUP_MAX_SECONDS): a generator that
  // failed meanwhile would otherwise be an unhandled rejection, which ends the bench before its `finally` stops
  // the receiver. Those who await `done` or stop() still get the rejection.
  done.catch(() => undefined);
  return {
    done,
    exited: () => exited,
    stop: () => {
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}
