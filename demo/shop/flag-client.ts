// The frontend's OpenFeature client. The provider is OpenFeature's in-memory provider whose evaluator
// reads the demo flag service's rollout percentage, bucketing users by a hash of their id (as flagd's
// `fractional` does), so a user keeps their variant while the percentage only grows. The hook records each
// evaluation the way @openfeature/open-telemetry-hooks' EventHook does: a log-based `feature_flag.evaluation`
// event in the active context, so the record carries the request's trace id and canary-judge can join the
// checkout backend's spans to the variant.
import type { Logger } from '@opentelemetry/api-logs';
import { OpenFeature, TypedInMemoryProvider, type Client, type Hook } from '@openfeature/server-sdk';
import { FLAG_KEY } from '../flag-service.js';

/** A stable bucket in [0, 100) per user (FNV-1a 32-bit of the id). */
export function rolloutBucket(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i += 1) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

/** Semantic conventions for feature flags: the `feature_flag.evaluation` event and its attributes. */
class FlagEvaluationEventHook implements Hook {
  constructor(private readonly logger: Logger) {}

  after(
    hookContext: Parameters<NonNullable<Hook['after']>>[0],
    details: Parameters<NonNullable<Hook['after']>>[1],
  ): void {
    this.logger.emit({
      eventName: 'feature_flag.evaluation',
      attributes: {
        'feature_flag.key': hookContext.flagKey,
        'feature_flag.provider.name': hookContext.providerMetadata.name,
        'feature_flag.context.id': hookContext.context.targetingKey ?? '',
        'feature_flag.result.variant': details.variant ?? '',
        'feature_flag.result.value': String(details.value),
      },
    });
  }
}

/**
 * A client in its own OpenFeature domain, so several demo runs in one process (tests) do not share a
 * provider. `rolloutPercent` is read at every evaluation: a flag change applies to the next request.
 */
export async function createFlagClient(
  domain: string,
  rolloutPercent: () => number,
  logger: Logger,
): Promise<Client> {
  const provider = new TypedInMemoryProvider({
    [FLAG_KEY]: {
      variants: { on: true, off: false },
      defaultVariant: 'off',
      disabled: false,
      contextEvaluator: (ctx) => (rolloutBucket(String(ctx.targetingKey)) < rolloutPercent() ? 'on' : 'off'),
    },
  });
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  client.addHooks(new FlagEvaluationEventHook(logger));
  return client;
}
