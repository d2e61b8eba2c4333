// The report page's static files (issue 15): the page itself from web/report/ (plain HTML, CSS and ES
// modules: nothing for a user to build) and uPlot from its npm package in node_modules (vendored at install:
// no CDN, works offline). Every file is found at start (a missing one fails the start: an incomplete install),
// but read, gzipped and hashed only when the page is first asked for: most sidecars never serve it, and the
// copies plus zlib's level-9 buffers were ~1.3 MB of an idle sidecar's RSS and 15 ms of its start. Served by
// name from a fixed list, so no request path ever reaches the file system.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';

export interface StaticAsset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  contentType: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The page's own files, in web/report/. */
const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'report.css': CSS,
  'report.js': JS,
  'api.js': JS,
  'format.js': JS,
  'charts.js': JS,
  'run-view.js': JS,
  'list-view.js': JS,
  'dom.js': JS,
};

/** Files of npm packages, by the name the page asks for. */
const PACKAGE_FILES: Record<string, { module: string; contentType: string }> = {
  'uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', contentType: JS },
  'uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', contentType: CSS },
};

/** web/report/ is two levels above src/api/ and three above dist/src/api/ (as version.ts finds package.json). */
function pageFile(name: string): URL {
  let firstError: unknown;
  for (const relative of ['../../web/report/', '../../../web/report/']) {
    const url = new URL(`${relative}${name}`, import.meta.url);
    try {
      accessSync(url, constants.R_OK);
      return url;
    } catch (error) {
      firstError ??= error;
    }
  }
  throw new Error(`report page file web/report/${name} not found: ${(firstError as Error).message}`);
}

function asset(body: Buffer, contentType: string): StaticAsset {
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    contentType,
  };
}

/** The page's files by name: located at construction (throws when one is missing), loaded on first use. */
export class ReportAssets {
  private readonly files = new Map<string, { path: URL | string; contentType: string }>();
  private loaded: Map<string, StaticAsset> | undefined;

  constructor() {
    for (const [name, contentType] of Object.entries(PAGE_FILES))
      this.files.set(name, { path: pageFile(name), contentType });
    const require = createRequire(import.meta.url);
    for (const [name, { module, contentType }] of Object.entries(PACKAGE_FILES)) {
      const path = require.resolve(module);
      accessSync(path, constants.R_OK);
      this.files.set(name, { path, contentType });
    }
  }

  /** The asset called `name`, or undefined when the page has no such file. The first call reads them all. */
  get(name: string): StaticAsset | undefined {
    this.loaded ??= new Map(
      [...this.files].map(([file, { path, contentType }]) => [file, asset(readFileSync(path), contentType)]),
    );
    return this.loaded.get(name);
  }
}
