// Flagger's canary scheduler for one Canary with the canary (progressive traffic) strategy, transcribed from
// fluxcd/flagger at commit 15bd6ad555e6c935da55f0ab95977be74c149bd6:
// - pkg/controller/scheduler.go: advanceCanary (the order within one tick), runCanary, maxWeight,
//   nextStepWeight, runAnalysis (rollout hooks), shouldAdvance, checkCanaryStatus, hasCanaryRevisionChanged,
//   rollback, runPromotionTrafficShift (stepWeightPromotion unset);
// - pkg/controller/scheduler_hooks.go: the hook runners and their failure handling;
// - pkg/controller/webhook.go: callWebhook (POST JSON, timeout, success = status <= 202), CallWebhook,
//   CallEventWebhook (eventMessage/eventType/timestamp metadata, user metadata merged without overriding);
// - pkg/controller/events.go: every recorded event is sent to the `event` hooks;
// - pkg/canary/status.go syncCanaryStatus and pkg/canary/spec.go hasSpecChanged: the checksum follows
//   LastAppliedSpec, which SyncStatus sets; in phase Failed shouldAdvance syncs it before the new revision is
//   detected, otherwise the first event of a new revision still carries the previous checksum.
// Not transcribed: mirroring, A/B and blue/green, session affinity, builtin and MetricTemplate metrics (the
// Canary has none), readiness failures, skipAnalysis, manual rollback of the target, alerts. Kubernetes is the
// state below; "revision" is the target's pod template (its checksum, for brevity, is the revision's name).
export type Phase =
  | 'Initialized'
  | 'Waiting'
  | 'Progressing'
  | 'WaitingPromotion'
  | 'Promoting'
  | 'Finalising'
  | 'Succeeded'
  | 'Failed';

export interface CanaryWebhook {
  name: string;
  type?: string;
  url: string;
  timeout?: string;
  metadata?: Record<string, string>;
}

export interface CanaryResource {
  metadata: { name: string; namespace: string };
  spec: {
    targetRef: { name: string };
    analysis: {
      interval?: string;
      threshold?: number;
      maxWeight?: number;
      stepWeight?: number;
      stepWeights?: number[];
      webhooks: CanaryWebhook[];
    };
  };
}

export interface HookCall {
  type: string;
  name: string;
  phase: Phase;
  checksum: string;
  status: number;
  ok: boolean;
  body: unknown;
}

/** Go time.ParseDuration for the forms a Canary uses ("10s", "1m", "500ms"). */
function durationMs(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`duration "${text}" not transcribed`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
}

export class FlaggerCanary {
  readonly status = { phase: 'Initialized' as Phase, canaryWeight: 0, failedChecks: 0, iterations: 0 };
  /** LastAppliedSpec as stored (the checksum's input) and as this tick's in-memory copy read it. */
  private lastAppliedSpec: string;
  /** The target Deployment's pod template now (set by deploy()). */
  private target: string;
  readonly calls: HookCall[] = [];
  readonly events: string[] = [];
  /** Canary weights set, in order (SetRoutes of the canary). */
  readonly weights: number[] = [];

  constructor(
    readonly canary: CanaryResource,
    initialRevision: string,
    /** Maps a hook's URL (the cluster Service) to where the test's sidecar listens. */
    private readonly address: (url: string) => string,
    private readonly clock: () => number,
  ) {
    this.lastAppliedSpec = initialRevision;
    this.target = initialRevision;
  }

  get checksum(): string {
    return this.lastAppliedSpec;
  }

  /** kubectl apply of a new pod template for the target. */
  deploy(revision: string): void {
    this.target = revision;
  }

  get intervalMs(): number {
    return durationMs(this.canary.spec.analysis.interval ?? '60s');
  }

  private get analysis() {
    return this.canary.spec.analysis;
  }

  maxWeight(): number {
    const steps = this.analysis.stepWeights ?? [];
    if (steps.length > 0) return Math.min(100, steps[steps.length - 1]);
    return (this.analysis.maxWeight ?? 0) > 0 ? (this.analysis.maxWeight as number) : 100;
  }

  nextStepWeight(weight: number): number {
    const steps = this.analysis.stepWeights ?? [];
    if ((this.analysis.stepWeight ?? 0) > 0 || steps.length === 0) return this.analysis.stepWeight ?? 0;
    const maxStep = 100 - weight;
    if (maxStep === 0) return 1;
    if (weight === 0) return Math.min(maxStep, steps[0]);
    for (let i = 0; i < steps.length - 1; i++)
      if (steps[i] === weight) return Math.min(maxStep, steps[i + 1] - weight);
    return maxStep;
  }

  private threshold(): number {
    return (this.analysis.threshold ?? 0) > 0 ? (this.analysis.threshold as number) : 1;
  }

  /** callWebhook: POST JSON; any transport error, timeout or status > 202 is a failure. */
  private async post(
    hook: CanaryWebhook,
    payload: object,
  ): Promise<{ status: number; ok: boolean; body: unknown }> {
    const timeout = hook.timeout && hook.timeout.length >= 2 ? hook.timeout : '10s';
    try {
      const response = await fetch(this.address(hook.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(durationMs(timeout)),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // Flagger keeps the raw body as the error message
      }
      return { status: response.status, ok: response.status <= 202, body };
    } catch (error) {
      return { status: 0, ok: false, body: (error as Error).message };
    }
  }

  /** CallWebhook with the payload {name, namespace, phase, checksum, metadata}. */
  private async call(hook: CanaryWebhook, phase: Phase): Promise<boolean> {
    const payload = {
      name: this.canary.metadata.name,
      namespace: this.canary.metadata.namespace,
      phase,
      checksum: this.checksum,
      ...(hook.metadata ? { metadata: hook.metadata } : {}),
    };
    const { status, ok, body } = await this.post(hook, payload);
    this.calls.push({
      type: hook.type ?? 'rollout',
      name: hook.name,
      phase,
      checksum: this.checksum,
      status,
      ok,
      body,
    });
    return ok;
  }

  /** recordEvent* + sendEventToWebhook: the event goes to every `event` hook (errors only logged). */
  private async event(
    message: string,
    eventType: 'Normal' | 'Warning',
    phase: Phase = this.status.phase,
    checksum = this.checksum,
  ) {
    this.events.push(message);
    for (const hook of this.hooks('event')) {
      const metadata: Record<string, string> = {
        eventMessage: message,
        eventType,
        timestamp: String(this.clock()),
      };
      for (const [key, value] of Object.entries(hook.metadata ?? {}))
        if (!(key in metadata)) metadata[key] = value;
      await this.post(hook, {
        name: this.canary.metadata.name,
        namespace: this.canary.metadata.namespace,
        phase,
        checksum,
        metadata,
      });
    }
  }

  private hooks(type: string): CanaryWebhook[] {
    return this.analysis.webhooks.filter(
      (hook) => (hook.type ?? '') === type || (type === 'rollout' && !hook.type),
    );
  }

  private get ref(): string {
    return `${this.canary.metadata.name}.${this.canary.metadata.namespace}`;
  }

  private get targetRef(): string {
    return `${this.canary.spec.targetRef.name}.${this.canary.metadata.namespace}`;
  }

  private setWeight(weight: number): void {
    this.status.canaryWeight = weight;
    this.weights.push(weight);
  }

  /** syncCanaryStatus: phase, weight, failed checks, iterations and LastAppliedSpec (the checksum) in one go. */
  private syncStatus(phase: Phase, canaryWeight = 0): void {
    Object.assign(this.status, { phase, canaryWeight, failedChecks: 0, iterations: 0 });
    this.lastAppliedSpec = this.target;
  }

  /** One run of advanceCanary. */
  async tick(): Promise<void> {
    const phase = this.status.phase;
    const advancing = ['Progressing', 'Waiting', 'WaitingPromotion', 'Promoting', 'Finalising'].includes(
      phase,
    );
    const inMemoryLastApplied = this.lastAppliedSpec;
    if (!advancing) {
      // shouldAdvance: in phase Failed the status (and so LastAppliedSpec) is synced before the check, which
      // still compares against this tick's in-memory copy.
      if (phase === 'Failed') this.lastAppliedSpec = this.target;
      if (inMemoryLastApplied === this.target) return;
    }
    // checkCanaryStatus
    if (!['Progressing', 'WaitingPromotion', 'Promoting', 'Finalising'].includes(phase)) {
      for (const hook of this.hooks('confirm-rollout')) {
        if (!(await this.call(hook, phase))) {
          if (phase !== 'Waiting') this.status.phase = 'Waiting';
          return;
        }
      }
      await this.event(`New revision detected! Scaling up ${this.targetRef}`, 'Normal', 'Progressing');
      this.syncStatus('Progressing');
      return;
    }
    // hasCanaryRevisionChanged
    if ((phase === 'Progressing' || phase === 'WaitingPromotion') && this.target !== this.lastAppliedSpec) {
      await this.event(`New revision detected! Restarting analysis for ${this.targetRef}`, 'Normal');
      this.setWeight(0);
      this.syncStatus('Progressing');
      return;
    }
    if (phase === 'Progressing' || phase === 'Waiting' || phase === 'WaitingPromotion') {
      if (await this.runRollbackHooks(phase)) {
        await this.event(`Rolling back ${this.ref} manual webhook invoked`, 'Warning');
        await this.rollback();
        return;
      }
    }
    if (phase === 'Promoting') {
      await this.event('Routing all traffic to primary', 'Normal');
      this.setWeight(0);
      this.status.phase = 'Finalising';
      return;
    }
    if (phase === 'Finalising') {
      this.status.phase = 'Succeeded';
      await this.runHooks('post-rollout', 'Succeeded', (hook) => `Post-rollout check ${hook.name} passed`);
      await this.event(`Promotion completed! Scaling down ${this.targetRef}`, 'Normal', 'Succeeded');
      return;
    }
    if (
      (phase === 'Progressing' || phase === 'WaitingPromotion') &&
      this.status.failedChecks >= this.threshold()
    ) {
      await this.rollback();
      return;
    }
    if (this.status.canaryWeight === 0 && this.status.iterations === 0) {
      await this.event(`Starting canary analysis for ${this.targetRef}`, 'Normal');
      for (const hook of this.hooks('pre-rollout')) {
        if (!(await this.call(hook, 'Progressing'))) {
          await this.event(`Halt ${this.ref} advancement pre-rollout check ${hook.name} failed`, 'Warning');
          this.status.failedChecks += 1;
          return;
        }
        await this.event(`Pre-rollout check ${hook.name} passed`, 'Normal');
      }
    } else {
      for (const hook of this.hooks('rollout')) {
        if (!(await this.call(hook, 'Progressing'))) {
          await this.event(`Halt ${this.ref} advancement external check ${hook.name} failed`, 'Warning');
          this.status.failedChecks += 1;
          return;
        }
      }
    }
    if (this.nextStepWeight(this.status.canaryWeight) > 0) {
      if (!['Promoting', 'WaitingPromotion', 'Finalising'].includes(this.status.phase)) {
        for (const hook of this.hooks('confirm-traffic-increase')) {
          if (!(await this.call(hook, 'Progressing'))) {
            await this.event(
              `Halt ${this.ref} advancement waiting for traffic increase approval ${hook.name}`,
              'Warning',
            );
            return;
          }
          await this.event(`Confirm-traffic-increase check ${hook.name} passed`, 'Normal');
        }
      }
      await this.runCanary();
    }
  }

  private async runCanary(): Promise<void> {
    const weight = this.status.canaryWeight;
    if (weight < this.maxWeight()) {
      this.setWeight(Math.min(100, weight + this.nextStepWeight(weight)));
      await this.event(`Advance ${this.ref} canary weight ${this.status.canaryWeight}`, 'Normal');
      return;
    }
    for (const hook of this.hooks('confirm-promotion')) {
      if (!(await this.call(hook, 'Progressing'))) {
        if (this.status.phase !== 'WaitingPromotion') {
          this.status.phase = 'WaitingPromotion';
          await this.event(
            `Halt ${this.ref} advancement waiting for promotion approval ${hook.name}`,
            'Warning',
          );
        } else {
          this.status.iterations -= 1;
        }
        return;
      }
      await this.event(`Confirm-promotion check ${hook.name} passed`, 'Normal');
    }
    const primary = `${this.canary.spec.targetRef.name}-primary`;
    await this.event(
      `Copying ${this.targetRef} template spec to ${primary}.${this.canary.metadata.namespace}`,
      'Normal',
    );
    this.status.phase = 'Promoting';
  }

  /** runRollbackHooks: the first hook that succeeds asks for a rollback; a failure means "no rollback". */
  private async runRollbackHooks(phase: Phase): Promise<boolean> {
    for (const hook of this.hooks('rollback')) {
      if (await this.call(hook, phase)) {
        await this.event(`Rollback check ${hook.name} passed`, 'Warning');
        return true;
      }
      await this.event(`Rollback hook ${hook.name} not signaling a rollback`, 'Normal');
    }
    return false;
  }

  private async runHooks(type: string, phase: Phase, passed: (hook: CanaryWebhook) => string): Promise<void> {
    for (const hook of this.hooks(type)) {
      if (!(await this.call(hook, phase))) {
        await this.event(`Post-rollout hook ${hook.name} failed`, 'Warning');
        return;
      }
      await this.event(passed(hook), 'Normal');
    }
  }

  /** rollback: traffic back to the primary, canary scaled to zero, phase Failed, post-rollout hooks. */
  private async rollback(): Promise<void> {
    if (this.status.failedChecks >= this.threshold()) {
      await this.event(
        `Rolling back ${this.ref} failed checks threshold reached ${this.status.failedChecks}`,
        'Warning',
      );
    }
    this.setWeight(0);
    await this.event(`Canary failed! Scaling down ${this.ref}`, 'Warning', 'Failed');
    this.syncStatus('Failed');
    await this.runHooks('post-rollout', 'Failed', (hook) => `Post-rollout check ${hook.name} passed`);
  }
}
