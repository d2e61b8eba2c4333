#!/usr/bin/env node
// CLI entry: `canary-judge --config path`. Loads and validates the config (one line per problem, exit 2),
// starts the sidecar (a start failure is one line naming the setting to change, exit 1), and on
// SIGTERM/SIGINT stops accepting, drains what was accepted, and exits 0 within shutdownTimeoutSeconds.
// A second signal, or a stop that overruns its deadline, exits at once (status 1).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { startSidecar } from './sidecar.js';
import { VERSION } from './version.js';

const USAGE = `usage: canary-judge --config <path>   (environment overrides: see README "Configuration")`;
/** How far past shutdownTimeoutSeconds the backstop waits before exiting regardless. */
const DEADLINE_MARGIN_MS = 1_000;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!args.config) {
    process.stderr.write(`missing --config\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(args.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const sidecar = await startSidecar(config);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  sidecar.logger.info({ signal }, 'signal received');
  const forceExit = (reason: string): void => {
    sidecar.logger.error(reason);
    // Let the logger's transport (pretty logs) flush the line, then go.
    setImmediate(() => process.exit(1));
  };
  process.once('SIGTERM', () => forceExit('second signal during shutdown; exiting now'));
  process.once('SIGINT', () => forceExit('second signal during shutdown; exiting now'));
  // The sidecar budgets its steps to end by the deadline; this is the backstop should one of them hang.
  setTimeout(
    () =>
      forceExit(`shutdown overran shutdownTimeoutSeconds (${config.shutdownTimeoutSeconds} s); exiting now`),
    config.shutdownTimeoutSeconds * 1000 + DEADLINE_MARGIN_MS,
  ).unref();
  await sidecar.stop();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`canary-judge failed to start: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
