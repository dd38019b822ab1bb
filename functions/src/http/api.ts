/** Registration of the `api` function; the logic is in apiRouter.ts and routes/. */
import { getAuth } from "firebase-admin/auth";
import { onRequest } from "firebase-functions/v2/https";
import { DEVICE_MASTER_KEY, GEMINI_API_KEY, KMA_SERVICE_KEY } from "../config";
import { startInvocation } from "../invocation";
import { toExpress } from "./adapter";
import { createApiHandler } from "./routes";

/** Cloud Run's revision name when deployed; "dev" in the local stack. */
const version = () => process.env.K_REVISION ?? process.env.WASHCALL_VERSION ?? "dev";

export const api = onRequest(
  { cors: true, secrets: [DEVICE_MASTER_KEY, GEMINI_API_KEY, KMA_SERVICE_KEY] },
  (req, res) => {
    const invocation = startInvocation(); // initialises the admin app before getAuth()
    const masterKey = DEVICE_MASTER_KEY.value();
    const deps = { ...invocation, auth: getAuth(), version: version(), masterKey };
    return toExpress("api", createApiHandler(deps))(req, res);
  },
);
