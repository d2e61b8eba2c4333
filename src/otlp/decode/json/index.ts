// OTLP/JSON decoders (OTLP spec, "JSON Protobuf Encoding"); same model and errors as the protobuf ones.
export { decodeTraceRequestJson } from './traces.js';
export { decodeMetricsRequestJson } from './metrics.js';
export { decodeLogsRequestJson } from './logs.js';
