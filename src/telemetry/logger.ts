// The process logger: pino, one line per event worth knowing. JSON for machines (a log shipper, a file,
// `kubectl logs`); on a terminal, readable lines in local time through pino's own transport (pino-pretty,
// run in a worker thread so formatting never slows the sidecar). Secrets never reach it: tokens are
// redacted by path in case a config or header object is ever logged whole.
import { pino, type Logger } from 'pino';

export type { Logger };

/** `auto` picks pretty on a terminal and JSON otherwise (log.format, CANARY_JUDGE_LOG_FORMAT). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** The format `auto` means for an output that is, or is not, a terminal. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTerminal ? 'pretty' : 'json';
  return format;
}

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: 'json' | 'pretty' = 'json',
): Logger {
  const options: pino.LoggerOptions = {
    name: 'canary-judge',
    level,
    redact: {
      paths: ['authToken', '*.authToken', '*.*.authToken', 'secret', '*.secret', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  if (format === 'json') return pino(options);
  return pino(
    options,
    pino.transport({
      target: 'pino-pretty',
      options: {
        destination: 1,
        // SYS: local time zone; the date is left out (a terminal session rarely spans days).
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name',
        singleLine: true,
      },
    }),
  );
}
