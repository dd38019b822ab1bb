/**
 * Every deployed function, registered in its entry point's file and re-exported here. Nothing else.
 */
import { setGlobalOptions } from "firebase-functions/v2/options";
import { REGION } from "./domain/firmwareSnippet";

setGlobalOptions({ region: REGION, maxInstances: 10 });

export { device } from "./http/device";
export { onReportCreated } from "./triggers/onReportCreated";
export { onPushCreated } from "./triggers/onPushCreated";
export { onAdminWritten } from "./triggers/onAdminWritten";
export { onMachineWritten } from "./triggers/onMachineWritten";
export { onProvisioningWritten } from "./triggers/onProvisioningWritten";
export { onRoomWritten } from "./triggers/onRoomWritten";
export { api } from "./http/api";
export { tick } from "./scheduled/tick";
export { rollupStats } from "./scheduled/rollupStats";
