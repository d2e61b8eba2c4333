// The rollout: steps the flag through its stages by calling the flag service's API, as a release
// pipeline or an engineer would. It stops on its own when the flag service refuses (a verdict rolled
// the flag back), and never overrides a verdict.
import { FLAG_KEY } from './flag-service.js';
import { httpCall, keepAliveAgent } from './http-call.js';
import type { RolloutStage } from './profile.js';

export class Rollout {
  /** Index into the stages of the stage in effect; -1 before the first. */
  stageIndex = -1;
  halted = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = keepAliveAgent();

  constructor(
    private readonly flagServiceUrl: string,
    readonly stages: RolloutStage[],
  ) {}

  get currentStage(): RolloutStage | undefined {
    return this.stages[this.stageIndex];
  }

  async start(): Promise<void> {
    await this.advance();
  }

  stop(): void {
    this.halted = true;
    clearTimeout(this.timer);
    this.agent.destroy();
  }

  private async advance(): Promise<void> {
    if (this.halted) return;
    const next = this.stageIndex + 1;
    const stage = this.stages[next];
    if (!stage) return;
    const result = await httpCall(this.agent, `${this.flagServiceUrl}/flags/${FLAG_KEY}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ percent: stage.percent }),
    });
    if (result.status !== 200) {
      this.halted = true;
      return;
    }
    this.stageIndex = next;
    if (Number.isFinite(stage.holdMs)) {
      this.timer = setTimeout(() => void this.advance().catch(() => (this.halted = true)), stage.holdMs);
    }
  }
}
