// /metrics without holding the event loop. prom-client's registry.metrics() formats every series of every
// metric in one synchronous run: at 1 000 analyses ~64 000 series and 5.4 MB of text, ~0.3 s during which no
// export was read (issue 13). This renders the same text, one metric at a time and large gauges a chunk of
// series at a time, yielding the event loop in between. Gauges are formatted here exactly as prom-client
// formats them in the Prometheus text format (registry.js getMetricsAsString); every other metric (counters,
// histograms, the process metrics) is formatted by prom-client itself. test/publish/metrics-exposition.test.ts
// checks the text is registry.metrics()'s, byte for byte. Default labels (Registry.setDefaultLabels) are not
// used by the sidecar and not supported here.
import { Registry, type Gauge } from 'prom-client';

/** Series formatted between two yields. */
const SERIES_PER_CHUNK = 500;

const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string | number | undefined): string {
  return typeof value === 'string' ? escapeString(value).replace(/"/g, '\\"') : String(value);
}

/** prom-client's getValueAsString (it spells NaN `Nan`; Prometheus reads both). */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

async function renderGauge(gauge: Gauge<string>): Promise<string> {
  const metric = await gauge.get();
  const name = escapeString(metric.name);
  const lines = [`# HELP ${name} ${escapeString(metric.help)}`, `# TYPE ${name} ${metric.type}`];
  const values = metric.values;
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && i % SERIES_PER_CHUNK === 0) await yieldLoop();
    const { labels, value } = values[i];
    const pairs: string[] = [];
    for (const [label, labelValue] of Object.entries(labels)) {
      pairs.push(`${label}="${escapeLabelValue(labelValue)}"`);
    }
    lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${valueText(value)}`);
  }
  return lines.join('\n');
}

/** The sample names of a histogram's or a summary's family other than its own (prom-client writes no _created). */
const SAMPLE_SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/**
 * `text` (one family as prom-client formats it) with only the samples named in `names`, its HELP and TYPE kept;
 * undefined when none is left. A sample line is its name, then `{` or a space (label values never hold a raw
 * newline: they are escaped).
 */
function onlySamples(text: string, names: ReadonlySet<string>): string | undefined {
  const lines = text.split('\n');
  const kept = lines.filter((line) => line.startsWith('#') || names.has(/^[^{ ]*/.exec(line)![0]));
  return kept.some((line) => !line.startsWith('#')) ? kept.join('\n') : undefined;
}

/**
 * The registry's exposition (what registry.metrics() returns), rendered in slices that yield. With `names`, only
 * what they name (GET /metrics?name[]=..., the query prometheus/client_python's exposition takes): a family's
 * name renders that family whole, as in the whole text; a sample name (`<histogram>_count`, `_sum`, `_bucket`,
 * a summary's `_sum`, `_count`) renders its family's HELP and TYPE with those samples alone, as client_python's
 * restricted registry does (registry.py RestrictedRegistry, metrics_core.py _restricted_metric; client_python
 * matches sample names only, so there a histogram's family name alone renders nothing). A reader polling one
 * histogram at 1 000 analyses gets a few hundred bytes, where the whole text is ~4.7 MB and ~0.1-0.4 s of the
 * event loop, and the analyses' gauges' collect() (which sets their series, verdict-metrics.ts) does not run
 * unless a gauge is named. Other content types ignore `names`.
 */
export async function renderMetrics(registry: Registry, names?: ReadonlySet<string>): Promise<string> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return registry.metrics();
  const parts: string[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    const type = (metric as unknown as { type?: string }).type ?? '';
    const whole = !names || names.has(name);
    if (!whole && !(SAMPLE_SUFFIXES[type] ?? []).some((suffix) => names.has(`${name}${suffix}`))) continue;
    if (type === 'gauge') parts.push(await renderGauge(metric as Gauge<string>));
    else {
      const text = await registry.getSingleMetricAsString(name);
      const part = whole ? text : onlySamples(text, names);
      if (part !== undefined) parts.push(part);
    }
    await yieldLoop();
  }
  return `${parts.join('\n\n')}\n`;
}
