// A liveness watchdog for attack tests: polls a health URL every `intervalMs` with a 1 s budget per poll,
// as a Kubernetes liveness probe with timeoutSeconds: 1 would, and reports the slowest answer and every
// poll that failed or took longer.
import { request } from 'node:http';

export interface WatchdogReport {
  polls: number;
  worstMs: number;
  /** One line per poll that did not answer 200 within the budget. */
  failures: string[];
}

/** GET `url` on a fresh connection; resolves with the status and the time it took (status 0 on error or timeout). */
export function probe(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; ms: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, error: error.message }));
    req.end();
  });
}

export class HealthWatchdog {
  private running = false;
  private loop: Promise<void> | undefined;
  private report: WatchdogReport = { polls: 0, worstMs: 0, failures: [] };

  constructor(
    private readonly url: string,
    private readonly budgetMs = 1000,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.report = { polls: 0, worstMs: 0, failures: [] };
    this.loop = this.run();
  }

  /** Stops polling and returns what was seen since start(). */
  async stop(): Promise<WatchdogReport> {
    this.running = false;
    await this.loop;
    return this.report;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const result = await probe(this.url, this.budgetMs);
      this.report.polls += 1;
      this.report.worstMs = Math.max(this.report.worstMs, result.ms);
      if (result.status !== 200 || result.ms >= this.budgetMs) {
        this.report.failures.push(
          `poll ${this.report.polls}: status ${result.status} after ${Math.round(result.ms)} ms${result.error ? ` (${result.error})` : ''}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}
