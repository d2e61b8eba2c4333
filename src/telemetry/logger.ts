// The process logger: pino, JSON, one line per event worth knowing. Secrets never reach it:
// tokens are redacted by path in case a config or header object is ever logged whole.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: 'canary-judge',
    level,
    redact: {
      paths: ['authToken', '*.authToken', '*.*.authToken', 'secret', '*.secret', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
