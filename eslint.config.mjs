// One lint config for functions/, test/ and tools/. Type-aware so that
// no-floating-promises can see which calls return promises.
import tseslint from "typescript-eslint";

// The layers of functions/src, lowest first: domain (pure) → data (references and converters),
// security, services → store (use cases) → http, triggers, scheduled → index. A module imports
// only from its own layer or lower ones.
const upward = (...dirs) =>
  dirs.flatMap((d) => [`../${d}`, `../${d}/*`, `../../${d}`, `../../${d}/*`, `../../../${d}/*`]);
const layer = (files, forbidden, extra = []) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            group: upward(...forbidden),
            message: "imports go down the layers only (eslint.config.mjs)",
          },
          ...extra,
        ],
      },
    ],
  },
});
const HANDLERS = ["http", "triggers", "scheduled", "index"];

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "functions/lib/**",
      "web/dist/**",
      "eslint.config.mjs",
      "bench/**",
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  layer(
    ["functions/src/domain/**"],
    ["data", "store", "services", "security", "config", ...HANDLERS],
    [
      {
        group: [
          "firebase-admin",
          "firebase-admin/*",
          "firebase-functions",
          "firebase-functions/*",
          "@google-cloud/*",
        ],
        message: "domain/ is pure: no Firebase (clock and ids are parameters)",
      },
    ],
  ),
  layer(
    ["functions/src/data/**", "functions/src/security/**", "functions/src/services/**"],
    ["store", "config", ...HANDLERS],
  ),
  layer(["functions/src/store/**"], HANDLERS),
  layer(
    ["functions/src/http/**", "functions/src/triggers/**", "functions/src/scheduled/**"],
    ["index"],
  ),
  {
    files: ["tools/**", "test/**"],
    rules: { "no-console": "off" },
  },
  {
    // Tests poke at Firestore DocumentData (typed any) and build async fixtures inline.
    files: ["test/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
);
