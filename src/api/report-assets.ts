// The report page's static files (issue 15): the page itself from web/report/ (plain HTML, CSS and ES
// modules: nothing for a user to build) and uPlot from its npm package in node_modules (vendored at install:
// no CDN, works offline). Read once at start into memory with a gzip copy and an ETag; served by name from a
// fixed list, so no request path ever reaches the file system.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
function pageFile(name: string): Buffer {
  let firstError: unknown;
  for (const relative of ['../../web/report/', '../../../web/report/']) {
    try {
      return readFileSync(new URL(`${relative}${name}`, import.meta.url));
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

/** Every file the page serves, by name; throws at start when one is missing (an incomplete install). */
export function loadReportAssets(): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const [name, contentType] of Object.entries(PAGE_FILES))
    assets.set(name, asset(pageFile(name), contentType));
  const require = createRequire(import.meta.url);
  for (const [name, { module, contentType }] of Object.entries(PACKAGE_FILES))
    assets.set(name, asset(readFileSync(require.resolve(module)), contentType));
  return assets;
}
