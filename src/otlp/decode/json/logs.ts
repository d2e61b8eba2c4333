// OTLP/JSON ExportLogsServiceRequest to a LogBatch; the same rules as ../logs.ts (flag evaluations kept).
import type { DecodedFlagEvaluation, LogBatch } from '../../model.js';
import { acceptLogRecord, bodyValueInto, isFlagEvaluation, type LogTally } from '../logs.js';
import { noRejections, rejectionFields } from '../resource.js';
import { jsonAnyValue, jsonAttributes } from './any-value.js';
import { decodeJsonDocument, eachObject, jsonResource } from './document.js';
import { asIdHex, asNanosParts, asString, field, partsToMs } from './values.js';

/** Decodes an OTLP/JSON logs export (text or UTF-8 bytes). */
export function decodeLogsRequestJson(input: string | Uint8Array): LogBatch {
  return decodeJsonDocument('logs', input, (root) => {
    const flagEvaluations: DecodedFlagEvaluation[] = [];
    const tally: LogTally = { ignored: 0, rejections: noRejections() };
    eachObject(root, 'resourceLogs', 'resource_logs', '$', (resourceLogs, resourcePath) => {
      const resource = jsonResource(resourceLogs, resourcePath);
      eachObject(resourceLogs, 'scopeLogs', 'scope_logs', resourcePath, (scopeLogs, scopePath) => {
        eachObject(scopeLogs, 'logRecords', 'log_records', scopePath, (record, path) => {
          let time = asNanosParts(field(record, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`);
          if (time[0] === 0 && time[1] === 0) {
            time = asNanosParts(
              field(record, 'observedTimeUnixNano', 'observed_time_unix_nano'),
              `${path}.observedTimeUnixNano`,
            );
          }
          const eventName = asString(field(record, 'eventName', 'event_name'), `${path}.eventName`);
          const attributes = jsonAttributes(record.attributes, `${path}.attributes`);
          if (record.body != null && isFlagEvaluation(eventName, attributes)) {
            bodyValueInto(attributes, jsonAnyValue(record.body, `${path}.body`, 0));
          }
          const traceId = asIdHex(field(record, 'traceId', 'trace_id'), 16, `${path}.traceId`);
          const spanId = asIdHex(field(record, 'spanId', 'span_id'), 8, `${path}.spanId`);
          acceptLogRecord(
            {
              eventName,
              // An id that is neither hex nor base64 is passed on as an odd length so that it is rejected.
              traceId: traceId ?? 'x',
              spanId: spanId ?? 'x',
              timeUnixMs: partsToMs(time),
              attributes,
              resource,
            },
            flagEvaluations,
            tally,
          );
        });
      });
    });
    return {
      flagEvaluations,
      ignored: tally.ignored,
      ...rejectionFields(tally.rejections, 'log records'),
    };
  });
}
