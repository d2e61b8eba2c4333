#!/usr/bin/env node
// CLI entry: `canary-judge --config path`. Loads and validates the config (one line per problem, exit 2),
// starts the sidecar, and on SIGTERM/SIGINT stops accepting, drains what was accepted, and exits 0.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { startSidecar } from './sidecar.js';
import { VERSION } from './version.js';

const USAGE = `usage: canary-judge --config <path>   (environment overrides: see README "Configuration")`;

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
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      sidecar.logger.info({ signal }, 'signal received');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
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
