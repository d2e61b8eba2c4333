// Builds and starts the ingest benchmark's Go peer (bench/go-peer/main.go): protoc + protoc-gen-go generate
// the OTLP trace messages from proto/, and the receiver is built against Debian's golang-google-protobuf-dev
// (GOPATH mode, no network). Returns why not when Go, protoc or the protobuf-go sources are missing, so the
// benchmark can say so instead of failing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from './payloads.js';

/** Where golang-google-protobuf-dev puts google.golang.org/protobuf. */
const DEBIAN_GOPATH = '/usr/share/gocode';
const TRACE_PROTOS = [
  'opentelemetry/proto/common/v1/common.proto',
  'opentelemetry/proto/resource/v1/resource.proto',
  'opentelemetry/proto/trace/v1/trace.proto',
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
];

export interface GoPeer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (USER_HZ = 100). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Builds the peer in `dir`; the binary's path, or why it cannot be built here. */
export function buildGoPeer(dir: string): { binary: string } | { unavailable: string } {
  const tool = (command: string, args: string[]) => {
    try {
      execFileSync(command, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!tool('go', ['version'])) return { unavailable: 'Go is not installed (Debian: golang-go)' };
  if (!tool('protoc', ['--version']))
    return { unavailable: 'protoc is not installed (Debian: protobuf-compiler)' };
  if (!existsSync(join(DEBIAN_GOPATH, 'src/google.golang.org/protobuf/cmd/protoc-gen-go')))
    return { unavailable: 'protobuf-go sources are missing (Debian: golang-google-protobuf-dev)' };
  const gopath = join(dir, 'gopath');
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${gopath}:${DEBIAN_GOPATH}`,
    GOCACHE: join(dir, 'gocache'),
    GOFLAGS: '',
  };
  try {
    const plugin = join(dir, 'protoc-gen-go');
    execFileSync('go', ['build', '-o', plugin, 'google.golang.org/protobuf/cmd/protoc-gen-go'], { env });
    mkdirSync(join(gopath, 'src/canary-judge-go-peer'), { recursive: true });
    execFileSync(
      'protoc',
      [
        `--plugin=protoc-gen-go=${plugin}`,
        '-I',
        join(packageRoot(), 'proto'),
        `--go_out=${join(gopath, 'src')}`,
        '--go_opt=paths=import',
        ...TRACE_PROTOS,
      ],
      { env },
    );
    copyFileSync(
      join(packageRoot(), 'bench/go-peer/main.go'),
      join(gopath, 'src/canary-judge-go-peer/main.go'),
    );
    const binary = join(dir, 'go-peer');
    execFileSync('go', ['build', '-o', binary, 'canary-judge-go-peer'], { env });
    return { binary };
  } catch (error) {
    return { unavailable: `the Go peer did not build: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * Where the receivers and the load generator run: every receiver (the benchmark process, which hosts the
 * sidecar, and the Go peer) pinned to one and the same core with `taskset`, the load generator on the others,
 * so per-CPU-second figures compare receivers on equal terms (issue 13). Why not, when taskset is missing or
 * the machine has one core.
 */
export type CorePinning = { receiverCore: number; generatorCores: string } | { unavailable: string };

export function corePinning(): CorePinning {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
  } catch {
    return { unavailable: 'taskset is not installed (Debian: util-linux)' };
  }
  const cores = availableParallelism();
  if (cores < 2) return { unavailable: `${cores} core: nothing to pin the load generator apart on` };
  return { receiverCore: cores - 1, generatorCores: cores === 2 ? '0' : `0-${cores - 2}` };
}

/** Pins every thread of process `pid` (threads it starts later inherit it) to `core`. */
export function pinProcess(pid: number, core: number): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(core), String(pid)], {
    stdio: 'ignore',
  });
}

/** How `command args` is started on `cores` (a taskset cpu list), or as is when there is no pinning. */
export function onCores(
  pinning: CorePinning,
  cores: 'receiver' | 'generator',
  command: string,
  args: string[],
): [string, string[]] {
  if ('unavailable' in pinning) return [command, args];
  const list = cores === 'receiver' ? String(pinning.receiverCore) : pinning.generatorCores;
  return ['taskset', ['--cpu-list', list, command, ...args]];
}

/** Starts the built peer with GOMAXPROCS=1 (one core, as the sidecar's event loop), on the receivers' core. */
export async function startGoPeer(binary: string, pinning: CorePinning): Promise<GoPeer> {
  // taskset execs the binary, so the child's pid is the peer's.
  const [command, args] = onCores(pinning, 'receiver', binary, []);
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, GOMAXPROCS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the Go peer exited (${code})`)));
    lines.once('line', (line) => resolve(Number(/listening (\d+)/.exec(line)?.[1])));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
