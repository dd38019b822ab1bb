/**
 * Firestore values as the local endpoint keeps them: the google.firestore.v1.Value message in
 * the shape @grpc/proto-loader decodes it (camelCase, int64 as decimal strings, bytes as
 * Buffers), normalised to exactly one kind key. Ordering and equality follow Firestore's
 * documented value ordering (https://firebase.google.com/docs/firestore/manage-data/data-types).
 */

/** proto3 leaves zero fields out: `{}` is the epoch. */
export interface Timestamp {
  seconds?: string | number;
  nanos?: number;
}

export type Value =
  | { nullValue: "NULL_VALUE" }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number }
  | { timestampValue: Timestamp }
  | { stringValue: string }
  | { bytesValue: Buffer }
  | { referenceValue: string }
  | { geoPointValue: { latitude?: number; longitude?: number } }
  | { arrayValue: { values?: Value[] } }
  | { mapValue: { fields?: Record<string, Value> } };

export type Fields = Record<string, Value>;

export const NULL: Value = { nullValue: "NULL_VALUE" };

const KINDS = [
  "nullValue",
  "booleanValue",
  "integerValue",
  "doubleValue",
  "timestampValue",
  "stringValue",
  "bytesValue",
  "referenceValue",
  "geoPointValue",
  "arrayValue",
  "mapValue",
] as const;
type Kind = (typeof KINDS)[number];

export function kindOf(v: Value): Kind {
  for (const k of KINDS) if (k in v) return k;
  throw new Error(`not a Firestore value: ${JSON.stringify(v)}`);
}

/** Strips proto-loader's oneof marker (`valueType`) and unset kinds, recursively. */
export function normalizeValue(raw: unknown): Value {
  const v = raw as Record<string, unknown> & { valueType?: string };
  const kind = (v.valueType as Kind | undefined) ?? KINDS.find((k) => v[k] !== undefined);
  switch (kind) {
    case "nullValue":
      return NULL;
    case "booleanValue":
      return { booleanValue: Boolean(v.booleanValue) };
    case "integerValue":
      return { integerValue: BigInt(v.integerValue as string | number).toString() };
    case "doubleValue":
      return { doubleValue: Number(v.doubleValue) };
    case "timestampValue": {
      const t = v.timestampValue as Timestamp;
      return { timestampValue: { seconds: String(t.seconds ?? 0), nanos: t.nanos ?? 0 } };
    }
    case "stringValue":
      return { stringValue: String(v.stringValue) };
    case "bytesValue":
      return { bytesValue: Buffer.from(v.bytesValue as Uint8Array) };
    case "referenceValue":
      return { referenceValue: String(v.referenceValue) };
    case "geoPointValue": {
      const g = v.geoPointValue as { latitude?: number; longitude?: number };
      return { geoPointValue: { latitude: g.latitude ?? 0, longitude: g.longitude ?? 0 } };
    }
    case "arrayValue": {
      const a = v.arrayValue as { values?: unknown[] };
      return { arrayValue: { values: (a.values ?? []).map(normalizeValue) } };
    }
    case "mapValue": {
      const m = v.mapValue as { fields?: Record<string, unknown> };
      return { mapValue: { fields: normalizeFields(m.fields ?? {}) } };
    }
    default:
      // A Value with no kind set is how proto3 sends the default: Firestore reads it as null.
      return NULL;
  }
}

export function normalizeFields(raw: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(raw)) out[k] = normalizeValue(v);
  return out;
}

// Firestore's type order: null < boolean < number < timestamp < string < bytes < reference <
// geo point < array < map.
const TYPE_ORDER: Record<Kind, number> = {
  nullValue: 0,
  booleanValue: 1,
  integerValue: 2,
  doubleValue: 2,
  timestampValue: 3,
  stringValue: 4,
  bytesValue: 5,
  referenceValue: 6,
  geoPointValue: 7,
  arrayValue: 8,
  mapValue: 9,
};

export function typeOrder(v: Value): number {
  return TYPE_ORDER[kindOf(v)];
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function numberOf(v: Value): number {
  return "integerValue" in v ? Number(v.integerValue) : (v as { doubleValue: number }).doubleValue;
}

function compareNumbers(a: Value, b: Value): -1 | 0 | 1 {
  if ("integerValue" in a && "integerValue" in b) {
    const x = BigInt(a.integerValue);
    const y = BigInt(b.integerValue);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = numberOf(a);
  const y = numberOf(b);
  // NaN sorts before every other number.
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return sign(x - y);
}

export function timestampMicros(t: Timestamp): number {
  return Number(t.seconds ?? 0) * 1e6 + Math.floor((t.nanos ?? 0) / 1000);
}

function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  const s = sign(Number(a.seconds ?? 0) - Number(b.seconds ?? 0));
  return s !== 0 ? s : sign((a.nanos ?? 0) - (b.nanos ?? 0));
}

/** Strings compare by their UTF-8 bytes, as Firestore orders them. */
export function compareStrings(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  return sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

const NUMERIC_ID = /^__id(-?\d+)__$/;

/** Path segments: numeric ids (`__id42__`) first, by value; then strings by UTF-8 bytes. */
function compareSegments(a: string, b: string): -1 | 0 | 1 {
  const na = NUMERIC_ID.exec(a);
  const nb = NUMERIC_ID.exec(b);
  if (na && nb) {
    const x = BigInt(na[1]);
    const y = BigInt(nb[1]);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (na) return -1;
  if (nb) return 1;
  return compareStrings(a, b);
}

/** Document names compare segment by segment. */
export function compareReferences(a: string, b: string): -1 | 0 | 1 {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareSegments(x[i], y[i]);
    if (c !== 0) return c;
  }
  return sign(x.length - y.length);
}

export function compareValues(a: Value, b: Value): -1 | 0 | 1 {
  const ta = typeOrder(a);
  const tb = typeOrder(b);
  if (ta !== tb) return sign(ta - tb);
  if ("nullValue" in a) return 0;
  if ("booleanValue" in a)
    return sign(Number(a.booleanValue) - Number((b as typeof a).booleanValue));
  if ("integerValue" in a || "doubleValue" in a) return compareNumbers(a, b);
  if ("timestampValue" in a) {
    return compareTimestamps(a.timestampValue, (b as typeof a).timestampValue);
  }
  if ("stringValue" in a) return compareStrings(a.stringValue, (b as typeof a).stringValue);
  if ("bytesValue" in a) return sign(Buffer.compare(a.bytesValue, (b as typeof a).bytesValue));
  if ("referenceValue" in a) {
    return compareReferences(a.referenceValue, (b as typeof a).referenceValue);
  }
  if ("geoPointValue" in a) {
    const g = (b as typeof a).geoPointValue;
    const lat = sign((a.geoPointValue.latitude ?? 0) - (g.latitude ?? 0));
    return lat !== 0 ? lat : sign((a.geoPointValue.longitude ?? 0) - (g.longitude ?? 0));
  }
  if ("arrayValue" in a) {
    const x = a.arrayValue.values ?? [];
    const y = (b as typeof a).arrayValue.values ?? [];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = compareValues(x[i], y[i]);
      if (c !== 0) return c;
    }
    return sign(x.length - y.length);
  }
  const x = Object.entries(a.mapValue.fields ?? {}).sort(([k], [l]) => compareStrings(k, l));
  const y = Object.entries((b as typeof a).mapValue.fields ?? {}).sort(([k], [l]) =>
    compareStrings(k, l),
  );
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const k = compareStrings(x[i][0], y[i][0]);
    if (k !== 0) return k;
    const c = compareValues(x[i][1], y[i][1]);
    if (c !== 0) return c;
  }
  return sign(x.length - y.length);
}

/** Equality as queries use it: numbers by value (1 == 1.0), NaN equal to NaN. */
export function valuesEqual(a: Value, b: Value): boolean {
  return typeOrder(a) === typeOrder(b) && compareValues(a, b) === 0;
}

/** Exact equality (a write that changes 1 to 1.0 is a change). */
export function sameValue(a: Value, b: Value): boolean {
  const ka = kindOf(a);
  if (ka !== kindOf(b)) return false;
  if (ka === "doubleValue") {
    const x = (a as { doubleValue: number }).doubleValue;
    const y = (b as { doubleValue: number }).doubleValue;
    return Object.is(x, y) || x === y;
  }
  if (ka === "arrayValue") {
    const x = (a as { arrayValue: { values?: Value[] } }).arrayValue.values ?? [];
    const y = (b as { arrayValue: { values?: Value[] } }).arrayValue.values ?? [];
    return x.length === y.length && x.every((v, i) => sameValue(v, y[i]));
  }
  if (ka === "mapValue") {
    return sameFields(
      (a as { mapValue: { fields?: Fields } }).mapValue.fields ?? {},
      (b as { mapValue: { fields?: Fields } }).mapValue.fields ?? {},
    );
  }
  return compareValues(a, b) === 0;
}

export function sameFields(a: Fields, b: Fields): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && sameValue(a[k], b[k]));
}

export function isNumber(
  v: Value | undefined,
): v is { integerValue: string } | { doubleValue: number } {
  return v !== undefined && ("integerValue" in v || "doubleValue" in v);
}

export function isNaNValue(v: Value | undefined): boolean {
  return v !== undefined && "doubleValue" in v && Number.isNaN(v.doubleValue);
}

/**
 * Splits a field path (`a.b`, `` `x.y`.z ``) into segments; backquoted segments may hold dots,
 * with `\\` and `` \` `` escapes.
 */
export function parseFieldPath(path: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (quoted) {
      if (c === "\\" && i + 1 < path.length) cur += path[++i];
      else if (c === "`") quoted = false;
      else cur += c;
    } else if (c === "`") {
      quoted = true;
    } else if (c === ".") {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

export function getField(fields: Fields, path: string[]): Value | undefined {
  let cur: Value | undefined = { mapValue: { fields } };
  for (const seg of path) {
    if (!cur || !("mapValue" in cur)) return undefined;
    cur = cur.mapValue.fields?.[seg];
  }
  return cur;
}

/** A copy of `fields` with `path` set to `value` (intermediate maps created or replaced). */
export function setField(fields: Fields, path: string[], value: Value): Fields {
  const [head, ...rest] = path;
  if (head === undefined) return fields;
  if (rest.length === 0) return { ...fields, [head]: value };
  const child = fields[head];
  const inner = child && "mapValue" in child ? (child.mapValue.fields ?? {}) : {};
  return { ...fields, [head]: { mapValue: { fields: setField(inner, rest, value) } } };
}

/** A copy of `fields` without `path` (absent paths leave it unchanged). */
export function deleteField(fields: Fields, path: string[]): Fields {
  const [head, ...rest] = path;
  if (head === undefined || !(head in fields)) return fields;
  if (rest.length === 0) {
    const { [head]: _gone, ...kept } = fields;
    return kept;
  }
  const child = fields[head];
  if (!("mapValue" in child)) return fields;
  return {
    ...fields,
    [head]: { mapValue: { fields: deleteField(child.mapValue.fields ?? {}, rest) } },
  };
}
