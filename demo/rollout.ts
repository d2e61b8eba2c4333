// The rollout: steps the flag through its stages by calling the flag service's API, as a release
// pipeline or an engineer would, and declares each stage to the judge (as Argo Rollouts' step analysis or
// Flagger's traffic hooks do). It stops on its own when the flag service refuses (a verdict rolled the flag
// back), and never overrides a verdict.
import { Agent } from 'node:http';
import { FLAG_KEY } from './flag-service.js';
import { httpCall, type CallResult } from './http-call.js';
import type { RolloutStage } from './profile.js';

export class Rollout {
  /** Index into the stages of the stage in effect; -1 before the first. */
  stageIndex = -1;
  halted = false;
  private timer: NodeJS.Timeout | undefined;
  // A fresh connection per call: stages are seconds apart, longer than the server's keep-alive timeout, and
  // a reused socket the server has just closed would fail the call.
  private readonly agent = new Agent({ keepAlive: false });

  constructor(
    private readonly flagServiceUrl: string,
    readonly stages: RolloutStage[],
    /** Told each stage once the flag is at its percentage (the demo declares it to the judge). */
    private readonly onStage: (percent: number) => Promise<void> = async () => undefined,
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

  /** PUT the flag's percentage; a connection error is retried (3 attempts), a refusal is an answer. */
  private async setPercent(percent: number, attempts = 3): Promise<CallResult> {
    try {
      return await httpCall(this.agent, `${this.flagServiceUrl}/flags/${FLAG_KEY}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ percent }),
      });
    } catch (error) {
      if (attempts <= 1 || this.halted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return this.setPercent(percent, attempts - 1);
    }
  }

  private async advance(): Promise<void> {
    if (this.halted) return;
    const next = this.stageIndex + 1;
    const stage = this.stages[next];
    if (!stage) return;
    const result = await this.setPercent(stage.percent);
    if (result.status !== 200) {
      this.halted = true;
      return;
    }
    this.stageIndex = next;
    await this.onStage(stage.percent);
    if (Number.isFinite(stage.holdMs)) {
      this.timer = setTimeout(() => void this.advance().catch(() => (this.halted = true)), stage.holdMs);
    }
  }
}
