import { defineInt, defineSecret, defineString } from "firebase-functions/params";
import { describe, expect, it } from "vitest";
import { applyParamDefaults } from "../../tools/stack/paramDefaults";

describe("param defaults outside a deployment", () => {
  it("exports each declared param's default, keeps values already set, and leaves secrets alone", () => {
    defineInt("WASHCALL_TEST_WINDOW", { default: 12 });
    defineString("WASHCALL_TEST_NAME", { default: "standard" });
    defineInt("WASHCALL_TEST_SET", { default: 1 });
    defineSecret("WASHCALL_TEST_SECRET");
    const env: NodeJS.ProcessEnv = { WASHCALL_TEST_SET: "7" };
    const applied = applyParamDefaults(env);
    expect(env).toMatchObject({
      WASHCALL_TEST_WINDOW: "12",
      WASHCALL_TEST_NAME: "standard",
      WASHCALL_TEST_SET: "7",
    });
    expect(env.WASHCALL_TEST_SECRET).toBeUndefined();
    expect(applied).toEqual(expect.arrayContaining(["WASHCALL_TEST_WINDOW", "WASHCALL_TEST_NAME"]));
    expect(applied).not.toContain("WASHCALL_TEST_SET");
  });
});
