/**
 * The console path end to end on the local stack: a machine document written with the Admin
 * SDK (as the console writes it) reaches the onMachineWritten trigger through the stack's
 * dispatcher, and the secret it shows in provisioning/{id} lets a board report.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type E2eStack, postUpdate, resetStack, startE2eStack, waitFor } from "./support";

let e: E2eStack;

beforeAll(async () => {
  e = await startE2eStack();
});

afterAll(async () => {
  await e?.stop();
});

beforeEach(async () => {
  await resetStack(e);
});

describe("console admin on the local stack", () => {
  it("provisions a machine created with the Admin SDK, and its shown secret authenticates", async () => {
    await e.db.doc("machines/21").create({ name: "세탁기 21", roomId: "1", type: "washer" });
    await e.stack.dispatcher.idle();
    const shown = await e.db.doc("provisioning/21").get();
    expect(shown.get("firmware_snippet")).toContain("int MACHINE_ID = 21;");
    const secret = shown.get("secret_key") as string;
    const reply = await postUpdate(e, {
      machine_id: 21,
      status: "WASHING",
      timestamp: Math.floor(Date.now() / 1000),
      secret_key: secret,
    });
    expect(reply.status).toBe(200);
    await waitFor("the report to be applied", async () => {
      await e.stack.dispatcher.idle();
      return (await e.db.doc("machines/21").get()).get("status") === "WASHING";
    });
    expect(e.deliveryErrors).toEqual([]);
  });
});
