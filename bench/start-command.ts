// How `npm start` runs the sidecar (package.json scripts.start, `node <flags> <script> ...`): the Node.js flags
// and the script (today the bundle, dist/bundle/main.js, see scripts/bundle.ts), so that a benchmark that
// starts the sidecar in its own process starts what users start. The Dockerfile's ENTRYPOINT carries the same
// flags and script (test/deploy/dockerfile.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The words of `node <flags> <script>` in a start command: the flags and the script. */
function nodeCommandOf(command: string): { flags: string[]; script: string } {
  const words = command.split(/\s+/).filter(Boolean);
  const node = words.lastIndexOf('node');
  const script = words.findIndex((word, at) => at > node && !word.startsWith('-'));
  if (node < 0 || script < 0 || !words[script].endsWith('.js'))
    throw new Error(`no "node [flags] <script>.js" in: ${command}`);
  return { flags: words.slice(node + 1, script), script: words[script] };
}

/** The arguments between `node` and the script in a start command. */
export function nodeFlagsOf(command: string): string[] {
  return nodeCommandOf(command).flags;
}

/** The script (relative to the repository root) that a start command runs with node. */
export function mainScriptOf(command: string): string {
  return nodeCommandOf(command).script;
}

/** package.json of canary-judge (one level above bench/, two above dist/bench/) and the directory holding it. */
function manifest(): { start: string; root: string } {
  for (const relative of ['../package.json', '../../package.json']) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(url)) continue;
    const parsed = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; scripts?: { start?: string } };
    if (parsed.name === 'canary-judge' && parsed.scripts?.start)
      return { start: parsed.scripts.start, root: fileURLToPath(new URL('.', url)) };
  }
  throw new Error('package.json of canary-judge not found beside bench/');
}

/** The flags `npm start` passes to node. */
export function productionNodeFlags(): string[] {
  return nodeFlagsOf(manifest().start);
}

/** The absolute path of the script `npm start` runs (built by `npm run build`, or `npm run build:all`). */
export function productionMainScript(): string {
  const { start, root } = manifest();
  return `${root}${mainScriptOf(start)}`;
}
