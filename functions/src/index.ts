/**
 * Every deployed function, registered in its own file and re-exported here. Nothing else.
 */
import { setGlobalOptions } from "firebase-functions/v2/options";

setGlobalOptions({ region: "asia-northeast3", maxInstances: 10 });

export { device } from "./http/device";
export { onReportCreated } from "./triggers/onReportCreated";
export { onPushCreated } from "./triggers/onPushCreated";
export { onAdminWritten } from "./triggers/onAdminWritten";
export { onMachineWritten } from "./triggers/onMachineWritten";
export { onRoomWritten } from "./triggers/onRoomWritten";
export { onProvisioningWritten } from "./triggers/onProvisioningWritten";
export { api } from "./http/api";
export { tick } from "./scheduled/tick";
export { rollupStats } from "./scheduled/rollupStats";
