// A real Prometheus server (Debian package `prometheus`) started by a test on a loopback port, scraping
// the sidecar's /metrics. `.ci/run` installs the package; on a machine without it the tests that need it
// are skipped with a message (and fail in CI, where it must be present).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BINARY ?? 'prometheus';

export function prometheusAvailable(): boolean {
  return spawnSync(PROMETHEUS_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
  ) {}

  /** Starts Prometheus scraping `target` (host:port) every second; resolves when it is ready. */
  static async start(target: string): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-prometheus-'));
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: canary-judge\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const child = spawn(
      PROMETHEUS_BINARY,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const prometheus = new Prometheus(child, dir, `http://127.0.0.1:${port}`);
    for (let i = 0; i < 200; i += 1) {
      try {
        if ((await fetch(`${prometheus.url}/-/ready`)).ok) return prometheus;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await prometheus.stop();
    throw new Error('Prometheus did not become ready in 20 s');
  }

  /** Runs an instant PromQL query; returns [labels, value] pairs. */
  async query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
    return body.data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
  }

  /** Polls `promql` until `accept` holds (or 30 s pass). */
  async until(
    promql: string,
    accept: (samples: Array<{ metric: Record<string, string>; value: number }>) => boolean,
  ) {
    for (let i = 0; i < 300; i += 1) {
      const samples = await this.query(promql);
      if (accept(samples)) return samples;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `Prometheus never answered ${promql} as expected: ${JSON.stringify(await this.query(promql))}`,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
