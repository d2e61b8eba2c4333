// The Node.js flags the sidecar runs with in production, read from `npm start` (package.json scripts.start,
// `node <flags> dist/src/main.js ...`), so that a benchmark that starts the sidecar in its own process starts
// it exactly as users do. The Dockerfile's ENTRYPOINT carries the same flags (test/deploy/dockerfile.test.ts).
import { existsSync, readFileSync } from 'node:fs';

const MAIN_SCRIPT = 'dist/src/main.js';

/** The arguments between `node` and dist/src/main.js in a start command. */
export function nodeFlagsOf(command: string): string[] {
  const words = command.split(/\s+/).filter(Boolean);
  const main = words.indexOf(MAIN_SCRIPT);
  const node = words.lastIndexOf('node', main);
  if (main < 0 || node < 0) throw new Error(`no "node ... ${MAIN_SCRIPT}" in: ${command}`);
  return words.slice(node + 1, main);
}

/** The flags `npm start` passes to node (package.json is one level above bench/, two above dist/bench/). */
export function productionNodeFlags(): string[] {
  for (const relative of ['../package.json', '../../package.json']) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(url)) continue;
    const manifest = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; scripts?: { start?: string } };
    if (manifest.name === 'canary-judge' && manifest.scripts?.start)
      return nodeFlagsOf(manifest.scripts.start);
  }
  throw new Error('package.json of canary-judge not found beside bench/');
}
