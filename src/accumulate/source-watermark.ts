// How far each exporting process's telemetry has arrived, and the watermark below which a run's evidence is
// taken to be complete for both arms (ARCHITECTURE.md, Latency representation: "Decisions use evidence up to a
// watermark both arms have reached, so export batching cannot decide a verdict").
//
// Why: OTel SDKs batch (BatchSpanProcessor: every 5 s; metric readers: every 60 s) and each process exports on
// its own phase. Judged on arrival, a tick can see two batches of the stable pods before the canary's first one
// (540 baseline spans vs 0 canary spans) and the sequential split test fails a healthy canary. Here each source
// (one resource: a pod, a process) reports the latest event time it has sent; the watermark is the oldest of
// those latest times over the sources still sending, minus a small lag for disorder within a batch, and only
// once both arms have a source. Evidence newer than the watermark waits (run-evidence.ts).
//
// Bounds: a source silent for `sourceIdleMs` stops holding the watermark back (a pod that ended); nothing waits
// longer than `maxHoldMs` of wall-clock time (a sender whose clock runs behind, a source that stopped mid-run);
// at most `maxSources` sources are tracked, the longest-silent one evicted (counted) beyond that.
//
// A forwarding instance of a fleet (src/fleet/) often sees one arm only (a sidecar beside one pod): it applies
// its watermark without waiting for the other arm (`requireBothArms: false`), and the judging instance, which
// sees every forwarder as a source, waits for both.
import type { Arm } from './observation.js';

export interface WatermarkSettings {
  /** Subtracted from the oldest source's latest time: disorder within and between one source's batches. */
  lagMs: number;
  /** A source silent this long no longer holds the watermark back. */
  sourceIdleMs: number;
  /** Evidence never waits longer than this (wall clock): the watermark is at least now - maxHoldMs. */
  maxHoldMs: number;
  /** Sources tracked per run; the longest-silent is forgotten beyond this. */
  maxSources: number;
  /** Whether the watermark waits until both arms have a source (default true; forwarders pass false). */
  requireBothArms?: boolean;
}

export const DEFAULT_WATERMARK_SETTINGS: WatermarkSettings = {
  lagMs: 1_000,
  sourceIdleMs: 120_000,
  maxHoldMs: 120_000,
  maxSources: 1_024,
};

interface SourceProgress {
  /** Latest event time this source has sent (sender clock, clamped to the judge's now). */
  latestMs: number;
  /** When the judge last heard from it (judge clock). */
  seenAtMs: number;
  /** Bit 1: sent baseline evidence; bit 2: canary. */
  arms: number;
}

const ARM_BIT: Record<Arm, number> = { baseline: 1, canary: 2 };
const BOTH_ARMS = 3;

export class SourceWatermark {
  private readonly sources = new Map<string, SourceProgress>();
  /** Sources forgotten because more than maxSources were sending. */
  evictedSources = 0;

  constructor(private readonly settings: WatermarkSettings) {}

  get sourceCount(): number {
    return this.sources.size;
  }

  /** Records that `sourceKey` sent evidence of `arm` up to `timeMs` (already clamped to <= nowMs). */
  note(sourceKey: string, arm: Arm, timeMs: number, nowMs: number): void {
    let source = this.sources.get(sourceKey);
    if (!source) {
      if (this.sources.size >= this.settings.maxSources) this.evictLongestSilent();
      source = { latestMs: timeMs, seenAtMs: nowMs, arms: 0 };
      this.sources.set(sourceKey, source);
    }
    if (timeMs > source.latestMs) source.latestMs = timeMs;
    source.seenAtMs = nowMs;
    source.arms |= arm === 'canary' ? ARM_BIT.canary : ARM_BIT.baseline; // named loads: once per span
  }

  /**
   * The watermark at `nowMs`: evidence at or before it is complete as far as the sources tell. -Infinity
   * until both arms have an active source, but never below nowMs - maxHoldMs.
   */
  at(nowMs: number): number {
    return Math.max(this.oldestLatest(nowMs) - this.settings.lagMs, nowMs - this.settings.maxHoldMs);
  }

  /**
   * The event time every active source has reached at `nowMs` (no lag subtracted), never below
   * nowMs - maxHoldMs: forwarded states up to it are complete from every forwarder (forwarded-evidence.ts).
   */
  reached(nowMs: number): number {
    return Math.max(this.oldestLatest(nowMs), nowMs - this.settings.maxHoldMs);
  }

  /** Whether `sourceKey` has been silent for the idle limit (or is not tracked). */
  isIdle(sourceKey: string, nowMs: number): boolean {
    const source = this.sources.get(sourceKey);
    return !source || source.seenAtMs < nowMs - this.settings.sourceIdleMs;
  }

  /** Oldest latest time over the active sources, or -Infinity until the arms the settings require have one. */
  private oldestLatest(nowMs: number): number {
    const activeSince = nowMs - this.settings.sourceIdleMs;
    let oldestLatest = Infinity;
    let arms = 0;
    for (const source of this.sources.values()) {
      if (source.seenAtMs < activeSince) continue;
      arms |= source.arms;
      if (source.latestMs < oldestLatest) oldestLatest = source.latestMs;
    }
    const enough = this.settings.requireBothArms === false ? arms !== 0 : arms === BOTH_ARMS;
    return enough ? oldestLatest : -Infinity;
  }

  /** Forgets sources silent for longer than the idle limit (they no longer count anyway). */
  forgetIdle(nowMs: number): void {
    const activeSince = nowMs - this.settings.sourceIdleMs;
    for (const [key, source] of this.sources) if (source.seenAtMs < activeSince) this.sources.delete(key);
  }

  private evictLongestSilent(): void {
    let oldestKey: string | undefined;
    let oldestSeen = Infinity;
    for (const [key, source] of this.sources) {
      if (source.seenAtMs < oldestSeen) [oldestKey, oldestSeen] = [key, source.seenAtMs];
    }
    if (oldestKey !== undefined) {
      this.sources.delete(oldestKey);
      this.evictedSources += 1;
    }
  }
}
