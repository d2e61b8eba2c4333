// Response encoders for both OTLP encodings: export responses with partial success, google.rpc.Status.
export {
  encodeExportResponse,
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  type PartialSuccess,
  type PayloadEncoding,
} from './export-response.js';
export {
  RETRY_INFO_TYPE_URL,
  durationJson,
  encodeRetryInfoAny,
  encodeStatus,
  encodeStatusJson,
  encodeStatusProtobuf,
  type RpcStatus,
} from './status.js';
