// The artefact `npm start`, the Dockerfile and the benchmarks run is the bundle scripts/bundle.ts makes
// (dist/bundle/main.js); the rest of the suite runs the sources. This test makes a bundle the same way (into
// dist/bundle-test/, at the same depth as dist/bundle/, so package.json and web/ are found as they are from
// there), checks what went into it, and starts it with the node flags of `npm start`: it must find its
// version and the report page's files, and take traces from the real OTel exporters over gRPC (grpc-js in the
// bundle) and OTLP/HTTP protobuf and JSON (protobufjs in the bundle).
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionNodeFlags } from '../../bench/start-command.js';
import { BUNDLE_EXTERNAL, bundleSidecar } from '../../scripts/bundle.js';
import { startChildSidecar, type ChildSidecar } from '../support/child-sidecar.js';
import { EXPORTER_KINDS, exportOnce, knownSpans, succeeded, traceExporter } from '../support/telemetry.js';

const OUTDIR = 'dist/bundle-test';
const root = fileURLToPath(new URL('../..', import.meta.url));
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;

describe('the bundle (scripts/bundle.ts)', () => {
  let metafile: Metafile;
  let sidecar: ChildSidecar | undefined;

  beforeAll(async () => {
    metafile = await bundleSidecar(OUTDIR);
    sidecar = await startChildSidecar({}, undefined, [...productionNodeFlags(), `${OUTDIR}/main.js`]);
  });

  afterAll(async () => {
    await sidecar?.stop();
    sidecar?.cleanup();
    rmSync(`${root}${OUTDIR}`, { recursive: true, force: true });
  });

  it('holds our sources and pure-JS packages, zod without its other locales, and leaves the externals out', () => {
    // What the output files hold (metafile.inputs also lists what esbuild read and then left out).
    const inputs = Object.values(metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, contribution]) => contribution.bytesInOutput > 0)
        .map(([path]) => path),
    );
    expect(inputs).toContain('src/main.ts');
    expect(inputs.some((path) => path.includes('node_modules/zod/'))).toBe(true);
    expect(inputs.some((path) => path.includes('node_modules/@grpc/grpc-js/'))).toBe(true);
    // zod's error messages in English (its default) are the only locale left.
    const locales = inputs.filter((path) => /node_modules\/zod\/.*\/locales\/[^/]+$/.test(path));
    expect(locales.map((path) => path.slice(path.lastIndexOf('/') + 1))).toEqual(['en.js']);
    for (const external of BUNDLE_EXTERNAL) {
      const prefix = `node_modules/${external.replace('/*', '/')}`;
      expect(inputs.filter((path) => path.includes(prefix))).toEqual([]);
    }
  });

  it('starts with the flags of `npm start`, reports its version and serves the report page', async () => {
    expect(sidecar!.output()).toContain(`"version":"${version}"`);
    expect(await (await fetch(`${sidecar!.apiUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const page = await fetch(`${sidecar!.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const chart = await fetch(`${sidecar!.apiUrl}/report/assets/uPlot.iife.min.js`);
    expect(chart.status).toBe(200);
  });

  it('takes traces from the OTel exporters over gRPC and OTLP/HTTP (protobuf and JSON)', async () => {
    const endpoints = { grpcUrl: `http://${sidecar!.grpcAddress}`, httpUrl: sidecar!.httpUrl };
    for (const kind of EXPORTER_KINDS) {
      const exporter = traceExporter(kind, endpoints);
      try {
        const result = await exportOnce(exporter, knownSpans());
        expect({ kind, ok: succeeded(result), error: result.error?.message }).toEqual({
          kind,
          ok: true,
          error: undefined,
        });
      } finally {
        await exporter.shutdown();
      }
    }
  });
});
