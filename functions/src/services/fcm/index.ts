/** FCM web push: the transport seam, the real and recording transports, and the sender. */
export * from "./transport";
export { createFcmTransport } from "./fcmTransport";
export {
  type RecordingTransport,
  type ScriptedFailure,
  createRecordingTransport,
} from "./recordingTransport";
export * from "./sender";
