// The decoding layer the receivers call: OTLP/protobuf and OTLP/JSON export requests to the model.
export { OtlpDecodeError, type OtlpSignal } from './errors.js';
export { decodeTraceRequest } from './traces.js';
export { decodeMetricsRequest } from './metrics.js';
export { decodeLogsRequest } from './logs.js';
export { decodeTraceRequestJson, decodeMetricsRequestJson, decodeLogsRequestJson } from './json/index.js';
