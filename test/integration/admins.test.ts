import { getAuth } from "firebase-admin/auth";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { adminUids } from "../../functions/src/store/admins";
import { grantAdmin, revokeAdmin } from "../../tools/adminClaims";
import { testDb } from "../support/world";

describe("admin grants (npm run admin)", () => {
  it("grant sets the admin claim and lists the user; revoke removes both and keeps other claims", async () => {
    testDb();
    const auth = getAuth();
    const email = `admin-${randomUUID()}@example.com`;
    const user = await auth.createUser({ email, password: "secret123" });
    await auth.setCustomUserClaims(user.uid, { building: "A" });

    await grantAdmin(auth, testDb(), email);
    expect((await auth.getUser(user.uid)).customClaims).toEqual({ building: "A", admin: true });
    expect(await adminUids(testDb())).toContain(user.uid);

    await revokeAdmin(auth, testDb(), email);
    expect((await auth.getUser(user.uid)).customClaims).toEqual({ building: "A" });
    expect(await adminUids(testDb())).not.toContain(user.uid);
  });

  it("granting an unknown email fails and writes nothing", async () => {
    await expect(
      grantAdmin(getAuth(), testDb(), `nobody-${randomUUID()}@example.com`),
    ).rejects.toThrow();
    expect(await adminUids(testDb())).toEqual([]);
  });
});
