// The demo shop: two services, each with its own OpenTelemetry resource, talking HTTP on loopback.
import { randomUUID } from 'node:crypto';
import type { FlowBehaviour } from '../profile.js';
import { CheckoutBackend, type CheckoutBehaviour } from './checkout-backend.js';
import { createFlagClient } from './flag-client.js';
import { Frontend } from './frontend.js';
import { startServiceTelemetry } from './telemetry.js';

export interface ShopOptions {
  otlpGrpcUrl: string;
  exportDelayMs: number;
  rolloutPercent: () => number;
  classic: FlowBehaviour;
  newFlow: FlowBehaviour;
}

export interface Shop {
  frontendUrl: string;
  /** Changes how the new checkout flow behaves from the next request on (the demo's regression). */
  setNewFlowBehaviour(behaviour: FlowBehaviour): void;
  /** Stops serving, then exports every span and event still buffered. */
  stop(): Promise<void>;
}

export async function startShop(options: ShopOptions): Promise<Shop> {
  const frontendTelemetry = startServiceTelemetry('frontend', options.otlpGrpcUrl, options.exportDelayMs);
  const checkoutTelemetry = startServiceTelemetry('checkout', options.otlpGrpcUrl, options.exportDelayMs);
  const behaviour: CheckoutBehaviour = { classic: options.classic, newFlow: options.newFlow };
  const backend = new CheckoutBackend(checkoutTelemetry.tracer, behaviour);
  const checkoutUrl = await backend.start();
  const flags = await createFlagClient(
    `demo-shop-${randomUUID()}`,
    options.rolloutPercent,
    frontendTelemetry.flagEventLogger,
  );
  const frontend = new Frontend(frontendTelemetry.tracer, flags, checkoutUrl);
  const frontendUrl = await frontend.start();
  return {
    frontendUrl,
    setNewFlowBehaviour(next) {
      behaviour.newFlow = next;
    },
    async stop() {
      await frontend.stop();
      await backend.stop();
      await Promise.all([frontendTelemetry.shutdown(), checkoutTelemetry.shutdown()]);
    },
  };
}
