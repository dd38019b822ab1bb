/**
 * The google.firestore.v1 protos, loaded once from the descriptor @google-cloud/firestore ships,
 * for the gRPC service (via @grpc/proto-loader) and for proto3 JSON, the encoding browsers use
 * over WebChannel and REST (via protobufjs reflection).
 *
 * Inside the endpoint, messages are plain objects in the shape proto-loader decodes them:
 * camelCase fields, enums as names, int64 as decimal strings, bytes as Buffers, Timestamps as
 * `{seconds, nanos}`, wrapper types as `{value}`. `fromJson`/`toJson` convert between that shape
 * and proto3 JSON (RFC 3339 timestamps, base64 bytes, bare wrapper values, `null` NullValue).
 */
import { fromJSON, type PackageDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const descriptor = withVerify(
  require("@google-cloud/firestore/build/protos/v1.json") as protobuf.INamespace,
);

/**
 * `Write.verify` (field 5 of the `operation` oneof): the web and Node client SDKs send it for
 * each document a transaction read but does not write; the Admin SDK's descriptor lacks it.
 */
function withVerify(root: protobuf.INamespace): protobuf.INamespace {
  type Msg = { fields: Record<string, unknown>; oneofs?: Record<string, { oneof: string[] }> };
  const v1 = root.nested?.google as { nested: Record<string, { nested: Record<string, unknown> }> };
  const write = (v1.nested.firestore.nested.v1 as { nested: Record<string, unknown> }).nested
    .Write as Msg;
  if (!("verify" in write.fields)) {
    write.fields.verify = { type: "string", id: 5 };
    write.oneofs?.operation?.oneof.push("verify");
  }
  return root;
}

export const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
} as const;

let packageDefinition: PackageDefinition | null = null;
let root: protobuf.Root | null = null;

export function firestorePackage(): PackageDefinition {
  packageDefinition ??= fromJSON(descriptor, LOADER_OPTIONS);
  return packageDefinition;
}

function reflection(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(descriptor);
    root.resolveAll();
  }
  return root;
}

export function messageType(name: string): protobuf.Type {
  return reflection().lookupType(name);
}

const WRAPPERS = new Set([
  ".google.protobuf.Int32Value",
  ".google.protobuf.Int64Value",
  ".google.protobuf.UInt32Value",
  ".google.protobuf.UInt64Value",
  ".google.protobuf.DoubleValue",
  ".google.protobuf.FloatValue",
  ".google.protobuf.BoolValue",
  ".google.protobuf.StringValue",
  ".google.protobuf.BytesValue",
]);
const LONGS = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** RFC 3339 with as many fractional digits as the nanos need (0, 3, 6 or 9). */
export function formatTimestamp(t: { seconds?: string | number; nanos?: number }): string {
  const seconds = Number(t.seconds ?? 0);
  const nanos = t.nanos ?? 0;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  let frac = String(nanos).padStart(9, "0");
  while (frac.endsWith("000")) frac = frac.slice(0, -3);
  return `${base}.${frac}Z`;
}

export function parseTimestamp(s: string): { seconds: string; nanos: number } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${s}`);
  const millis = Date.parse(`${m[1]}${m[3]}`);
  return {
    seconds: String(Math.floor(millis / 1000)),
    nanos: Number((m[2] ?? "").padEnd(9, "0") || "0"),
  };
}

function typeName(field: protobuf.Field): string | null {
  return field.resolvedType ? field.resolvedType.fullName : null;
}

/** `convert` applied to a field's value, or to each value of a map or repeated field. */
function eachValue(
  field: protobuf.Field,
  value: unknown,
  convert: (field: protobuf.Field, v: unknown) => unknown,
): unknown {
  if (field.map) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convert(field, v)]),
    );
  }
  if (field.repeated) return (value as unknown[]).map((v) => convert(field, v));
  return convert(field, value);
}

function scalarToJson(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    if (field.resolvedType.fullName === ".google.protobuf.NullValue") return null;
    return typeof v === "number" ? field.resolvedType.valuesById[v] : v;
  }
  if (field.resolvedType instanceof protobuf.Type) return toJsonWith(field.resolvedType, v);
  if (field.type === "bytes") return Buffer.from(v as Uint8Array).toString("base64");
  if (LONGS.has(field.type)) return String(v);
  if ((field.type === "double" || field.type === "float") && !Number.isFinite(v)) {
    return String(v);
  }
  return v;
}

function toJsonWith(type: protobuf.Type, obj: unknown): unknown {
  const name = type.fullName;
  if (name === ".google.protobuf.Timestamp") return formatTimestamp(obj as { seconds: string });
  if (WRAPPERS.has(name)) {
    return scalarToJson(type.fields.value, (obj as { value: unknown }).value);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    const field = type.fields[key];
    if (!field || value === undefined || value === null) continue;
    out[key] = eachValue(field, value, scalarToJson);
  }
  return out;
}

function scalarFromJson(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    if (field.resolvedType.fullName === ".google.protobuf.NullValue") return "NULL_VALUE";
    return typeof v === "number" ? field.resolvedType.valuesById[v] : v;
  }
  if (field.resolvedType instanceof protobuf.Type) return fromJsonWith(field.resolvedType, v);
  if (field.type === "bytes") return Buffer.from(String(v), "base64");
  if (LONGS.has(field.type)) return String(v);
  if (field.type === "double" || field.type === "float") return Number(v);
  return v;
}

function fromJsonWith(type: protobuf.Type, json: unknown): unknown {
  const name = type.fullName;
  if (name === ".google.protobuf.Timestamp") {
    return typeof json === "string" ? parseTimestamp(json) : json;
  }
  if (WRAPPERS.has(name)) {
    return json !== null && typeof json === "object"
      ? json
      : { value: scalarFromJson(type.fields.value, json) };
  }
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(json as Record<string, unknown>)) {
    const key = rawKey.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const field = type.fields[key];
    if (!field || value === undefined) continue;
    if (value === null && typeName(field) !== ".google.protobuf.Value") {
      // proto3 JSON: null means the default, except for NullValue.
      if (!(field.resolvedType instanceof protobuf.Enum)) continue;
    }
    out[key] = eachValue(field, value, scalarFromJson);
  }
  return out;
}

/** proto3 JSON of a message given in proto-loader shape. */
export function toJson(typeName: string, obj: unknown): unknown {
  return toJsonWith(messageType(typeName), obj);
}

/** proto-loader shape of a message given as proto3 JSON. */
export function fromJson(typeName: string, json: unknown): unknown {
  return fromJsonWith(messageType(typeName), json);
}
