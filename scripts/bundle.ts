// Joins the sidecar into one ES module, dist/bundle/main.js, which `npm start`, the Dockerfile and the
// benchmarks that start a sidecar run (`npm run build` compiles this file and runs it; `npm test` runs the
// sources, and test/deploy/bundle.test.ts starts a bundle made by this function).
//
// Why (issue 13, idle RSS): unbundled, Node resolves, reads and compiles each of the ~500 files a sidecar
// loads at start on its own (our ~170 modules, zod's, grpc-js's, prom-client's ...), and keeps every one's
// source; zod alone brought its 64 locales (`z` is a namespace holding them all). esbuild leaves out what no
// import reaches (the locales, with `import * as z`), and the start-up allocation it saves is part of what
// lets V8's memory reducer shrink an idle sidecar (docs/performance-notes.md, footprint). The code is the
// same: esbuild strips the types as vitest does, every module keeps its own scope, and identifiers keep
// their names (stack traces and logs still name our functions; dist/bundle/*.map maps them back to src/).
//
// Kept out of the bundle, loaded from node_modules as before:
// - better-sqlite3: a native addon, found through `bindings` next to its own files;
// - pino and pino-pretty: pino starts its transports (pino-pretty) in a worker thread by file name;
// - @opentelemetry/*: the sidecar's own tracing and fleet mode's exporters load them with import() only when
//   enabled, and prom-client's require of @opentelemetry/api must find the copy they use;
// - @grpc/proto-loader: grpc-js requires it only for channelz and ORCA, which the sidecar does not serve
//   (bundled, its ~260 KB would sit in the file unused).
import { build, type Metafile } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUNDLE_EXTERNAL = [
  'better-sqlite3',
  'pino',
  'pino-pretty',
  '@opentelemetry/*',
  '@grpc/proto-loader',
];

/** The repository root (scripts/ and dist/scripts/ both sit below it). */
function repositoryRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.replace(/\/(dist\/)?scripts\/$/, '');
}

/**
 * Bundles src/main.ts into `outdir` (relative to the repository root; two levels below it, as dist/bundle/
 * is, so that the version and the report page's files are found as from dist/src/).
 */
export async function bundleSidecar(outdir = 'dist/bundle'): Promise<Metafile> {
  const root = repositoryRoot();
  // Chunk names carry a content hash: a rebuild would leave the previous ones beside the new.
  rmSync(join(root, outdir), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'src/main.ts' },
    outdir,
    bundle: true,
    // The fleet forwarder, which only a forwarding instance imports, stays a file of its own.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    external: BUNDLE_EXTERNAL,
    sourcemap: true,
    // V8 keeps a script's source for as long as its functions live (lazy compilation, toString): whitespace
    // and comments out (esbuild keeps comments inside expressions otherwise, and one non-ASCII character
    // makes V8 hold the whole source as a two-byte string: 1.8 MB for the shared chunk), names kept.
    minifyWhitespace: true,
    minifySyntax: true,
    // CommonJS packages in the bundle (prom-client, grpc-js, protobufjs) call require() for Node's own
    // modules; an ES module has no require, so each output file makes one for its own location.
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bundleSidecar();
