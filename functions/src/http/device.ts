/** Registration of the `device` function; the logic is in deviceHandler.ts. */
import { onRequest } from "firebase-functions/v2/https";
import { DEVICE_MASTER_KEY } from "../config";
import { startInvocation } from "../invocation";
import { toExpress } from "./adapter";
import { type DeviceState, createDeviceHandler, createDeviceState } from "./deviceHandler";

/** This instance's rate buckets and machine cache, made on the first request (params read then). */
let state: DeviceState | null = null;

export const device = onRequest({ secrets: [DEVICE_MASTER_KEY] }, (req, res) => {
  const inv = startInvocation();
  state ??= createDeviceState(inv.settings.device);
  const handler = createDeviceHandler({ ...inv, masterKey: DEVICE_MASTER_KEY.value(), state });
  return toExpress("device", handler)(req, res);
});
