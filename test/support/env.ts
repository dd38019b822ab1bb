/**
 * Runs before every test file, unit tests included: the demo project id and every param's
 * default in the environment (as the CLI does at deploy). No
 * Firestore: unit tests never start one (test/support/setup.ts does, for the other suites).
 */
import "../../functions/src/config";
import { applyParamDefaults } from "../../tools/stack/paramDefaults";
import { PROJECT_ID } from "./firestore";

process.env.GCLOUD_PROJECT = PROJECT_ID;
process.env.GOOGLE_CLOUD_PROJECT = PROJECT_ID;
applyParamDefaults();
