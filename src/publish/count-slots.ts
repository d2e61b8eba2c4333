// Counters on the per-request path, counted in plain numbers and handed to prom-client when the registry is
// collected (a scrape, or a metric's get()). prom-client's inc() checks and hashes its labels on every call,
// and at ~10 export requests a second that code never leaves V8's baseline tier: the per-request counters
// were ~3% of the main thread at 5k spans/s (docs/performance-notes.md, footprint). What a scrape reads is
// the same: every count reaches the Counter before its value is read.
import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

/** One label set's count since the last collection; hot paths keep the slot and add to `n`. */
export class CountSlot<L extends string> {
  n = 0;
  constructor(readonly labels: LabelValues<L>) {}
}

export class SlottedCounter<L extends string> {
  readonly counter: Counter<L>;
  private readonly slots = new Map<string, CountSlot<L>>();
  private readonly labelNames: readonly L[];

  constructor(config: Omit<CounterConfiguration<L>, 'collect'>) {
    const slots = this.slots;
    this.labelNames = config.labelNames ?? [];
    this.counter = new Counter<L>({
      ...config,
      collect() {
        // Every slot ever made is handed on, a zero too, so a series exists from its first count as before.
        for (const slot of slots.values()) {
          this.inc(slot.labels, slot.n);
          slot.n = 0;
        }
      },
    });
  }

  /** The slot of `labels`, made on first use. */
  slot(labels: LabelValues<L>): CountSlot<L> {
    const key = this.keyOf(labels);
    let slot = this.slots.get(key);
    if (slot === undefined) this.slots.set(key, (slot = new CountSlot({ ...labels })));
    return slot;
  }

  /** Adds `n` to `labels`' count (for paths that do not keep a slot). */
  inc(labels: LabelValues<L>, n = 1): void {
    this.slot(labels).n += n;
  }

  private keyOf(labels: LabelValues<L>): string {
    const names = this.labelNames;
    if (names.length === 1) return String(labels[names[0]] ?? '');
    // The label values on these paths are the sidecar's own names (transport, signal, outcome codes,
    // stores), never a NUL, so NUL-separated they give each label set its own key.
    let key = '';
    for (const name of names) key += `${String(labels[name] ?? '')}\u0000`;
    return key;
  }
}
