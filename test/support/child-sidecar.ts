// The real CLI in a child process, for attack tests: a crash, a freeze or a memory blow-up shows as what it
// is (an exit, a watchdog failure, an RSS sample) instead of taking the test runner down with it. RSS is
// sampled from /proc every 50 ms; stop() sends SIGTERM and requires a clean exit within 15 s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MiB = 1024 * 1024;

export class RssSampler {
  peakBytes = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number) {}

  start(): void {
    this.sample();
    this.timer ??= setInterval(() => this.sample(), 50);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get peakMiB(): number {
    return this.peakBytes / MiB;
  }

  /** Resident set size now (0 once the process is gone). */
  current(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      return kib * 1024;
    } catch {
      return 0;
    }
  }

  private sample(): void {
    this.samples += 1;
    this.peakBytes = Math.max(this.peakBytes, this.current());
  }
}

export interface ChildSidecar {
  child: ChildProcess;
  dir: string;
  configPath: string;
  ports: { api: number; grpc: number; http: number };
  apiUrl: string;
  httpUrl: string;
  grpcAddress: string;
  rss: RssSampler;
  /** Output so far (the last 64 KiB), for failure messages. */
  output(): string;
  alive(): boolean;
  /** SIGTERM, then the exit code; throws if the process does not exit within 15 s (and kills it). */
  stop(): Promise<number | null>;
  /** Removes the data directory (after stop). */
  cleanup(): void;
}

/**
 * Starts `canary-judge --config` on loopback port 0 with `config` merged in; `dir` reuses a data folder.
 * `nodeArguments` replaces what node runs (the sources through tsx by default), e.g. a bundle with its flags.
 */
export async function startChildSidecar(
  config: Record<string, unknown>,
  dir?: string,
  nodeArguments: string[] = ['--import', 'tsx', 'src/main.ts'],
): Promise<ChildSidecar> {
  const home = dir ?? mkdtempSync(join(tmpdir(), 'canary-judge-attack-'));
  const otlp = (config.otlp ?? {}) as Record<string, unknown>;
  const full = {
    ...config,
    otlp: {
      ...otlp,
      grpc: { port: 0, ...((otlp.grpc as object | undefined) ?? {}) },
      http: { port: 0, ...((otlp.http as object | undefined) ?? {}) },
    },
    api: { port: 0, ...((config.api as object | undefined) ?? {}) },
    storage: { path: join(home, 'state.sqlite') },
    log: { level: 'info' },
  };
  const configPath = join(home, 'config.json');
  writeFileSync(configPath, JSON.stringify(full));
  const child = spawn(process.execPath, [...nodeArguments, '--config', configPath], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stderr!.on('data', keep);
  const ports = await new Promise<ChildSidecar['ports']>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      keep(chunk);
      const match = /"ports":\{"api":(\d+),"grpc":(\d+),"http":(\d+)\}/.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', keep);
        resolve({ api: Number(match[1]), grpc: Number(match[2]), http: Number(match[3]) });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`sidecar exited with ${code} before starting:\n${output}`)),
    );
  });
  const rss = new RssSampler(child.pid!);
  rss.start();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    dir: home,
    configPath,
    ports,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    httpUrl: `http://127.0.0.1:${ports.http}`,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    rss,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      rss.stop();
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), 15_000).unref(),
      );
      const result = await Promise.race([exited, timeout]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`sidecar did not exit within 15 s of SIGTERM:\n${output.slice(-4000)}`);
      }
      return result;
    },
    cleanup() {
      if (dir === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}
