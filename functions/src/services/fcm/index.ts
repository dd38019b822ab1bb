/**
 * FCM web push: the transport seam, the real transport, and the sender. (Tests and the
 * benchmark record pushes with tools/fcm/recordingTransport.ts.)
 */
export * from "./transport";
export { createFcmTransport } from "./fcmTransport";
export * from "./sender";
