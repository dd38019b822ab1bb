/**
 * machines/{machineId} written → a console edit gets the admin API's consequences
 * (store/console.ts applyMachineEdit). Writes that change no configuration return without a read.
 */
import { applyMachineEdit } from "../store/console";
import { consoleTrigger } from "./consoleTrigger";

export const onMachineWritten = consoleTrigger("machine", "machines/{machineId}", applyMachineEdit);
