// What the demo says happened, in the order it happened: the judge's verdict before its effect.
// The flag service acts on the signed webhook the moment it arrives, while the demo reads the verdict over
// the API every half second; printed as they come, the rollback would often be told before the verdict
// that caused it. So an action on the flag first tells the verdict its webhook carried (once per run and
// verdict, whichever source brings it first), and the live block shows the newest verdict either source
// has seen, never a running verdict beside a rolled-back flag.
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import type { FlagChange } from './flag-service.js';
import type { LiveView } from './live-view.js';

export class Narration {
  private newest: VerdictDocument | undefined;
  private readonly told = new Set<string>();

  constructor(
    private readonly view: LiveView,
    private readonly stageCount: number,
  ) {}

  /** The newest verdict document seen, from the API or from a webhook. */
  get document(): VerdictDocument | undefined {
    return this.newest;
  }

  /** A document read from the API (or carried by a webhook); an older one than already seen is ignored. */
  observe(document: VerdictDocument | undefined): void {
    if (!document) return;
    const newer =
      !this.newest ||
      this.newest.runId !== document.runId ||
      Date.parse(document.updatedAt) >= Date.parse(this.newest.updatedAt);
    if (newer) this.newest = document;
  }

  /** The final verdict, told once per run and verdict. */
  verdict(document: VerdictDocument): void {
    this.observe(document);
    const key = `${document.runId} ${document.verdict}`;
    if (this.told.has(key)) return;
    this.told.add(key);
    this.view.print(
      `>> judge: verdict ${document.verdict.toUpperCase()} -> ${document.action} (${document.reason})`,
    );
  }

  /** A change of the flag: a rollout step, or the flag service acting on a verdict (told after it). */
  flagChanged(change: FlagChange, stageIndex: number): void {
    if (change.by === 'rollout') {
      this.view.print(
        `>> rollout: new-checkout-flow -> ${change.percent}% (stage ${stageIndex + 1}/${this.stageCount})`,
      );
      return;
    }
    if (change.verdict) this.verdict(change.verdict);
    this.view.print(
      `>> flag service: verified signed webhook, ${change.by === 'rollback' ? 'ROLLED BACK' : 'PROMOTED'} new-checkout-flow -> ${change.percent}%`,
    );
  }
}
