/**
 * Runs a google.firestore.v1.StructuredQuery over documents, with Firestore's semantics: a
 * document lacking a filtered or ordered field never matches; comparisons only match values of
 * the same type order; `!=` and `not-in` skip nulls; ordering is normalised the way the backend
 * does it (explicit orders, then inequality fields, then `__name__` in the last direction).
 */
import { RpcError } from "./errors";
import {
  compareReferences,
  compareValues,
  getField,
  isNaNValue,
  parseFieldPath,
  setField,
  typeOrder,
  valuesEqual,
  type Fields,
  type Value,
} from "./values";

export interface StoredDocument {
  /** Full resource name: projects/p/databases/d/documents/col/id… */
  name: string;
  fields: Fields;
  /** Microseconds since the epoch. */
  createTime: number;
  updateTime: number;
}

interface FieldReference {
  fieldPath: string;
}

export interface Filter {
  compositeFilter?: { op?: string; filters?: Filter[] };
  fieldFilter?: { field: FieldReference; op?: string; value: Value };
  unaryFilter?: { op?: string; field: FieldReference };
}

export interface Order {
  field: FieldReference;
  direction?: string;
}

export interface Cursor {
  values?: Value[];
  before?: boolean;
}

export interface StructuredQuery {
  select?: { fields?: FieldReference[] };
  from?: { collectionId?: string; allDescendants?: boolean }[];
  where?: Filter;
  orderBy?: Order[];
  startAt?: Cursor;
  endAt?: Cursor;
  offset?: number;
  limit?: { value?: number } | null;
}

export const NAME_FIELD = "__name__";

/** The parent path and collection id of a document name. */
export function splitName(name: string): { parent: string; collectionId: string; id: string } {
  const parts = name.split("/");
  const id = parts[parts.length - 1] ?? "";
  const collectionId = parts[parts.length - 2] ?? "";
  return { parent: parts.slice(0, -2).join("/"), collectionId, id };
}

/** Whether a document name is in the query's scope (parent + from), before any filter. */
export function inScope(name: string, parent: string, query: StructuredQuery): boolean {
  const from = query.from?.[0];
  if (!from) return false;
  const doc = splitName(name);
  if (from.allDescendants) {
    if (!name.startsWith(`${parent}/`)) return false;
    return !from.collectionId || doc.collectionId === from.collectionId;
  }
  return doc.parent === parent && doc.collectionId === from.collectionId;
}

function valueAt(doc: StoredDocument, path: string): Value | undefined {
  if (path === NAME_FIELD) return { referenceValue: doc.name };
  return getField(doc.fields, parseFieldPath(path));
}

const INEQUALITIES = new Set([
  "LESS_THAN",
  "LESS_THAN_OR_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_OR_EQUAL",
  "NOT_EQUAL",
  "NOT_IN",
]);

function inequalityFields(filter: Filter | undefined, out: Set<string>): Set<string> {
  if (!filter) return out;
  if (filter.compositeFilter) {
    for (const f of filter.compositeFilter.filters ?? []) inequalityFields(f, out);
  } else if (filter.fieldFilter && INEQUALITIES.has(filter.fieldFilter.op ?? "")) {
    out.add(filter.fieldFilter.field.fieldPath);
  } else if (
    filter.unaryFilter &&
    (filter.unaryFilter.op === "IS_NOT_NAN" || filter.unaryFilter.op === "IS_NOT_NULL")
  ) {
    out.add(filter.unaryFilter.field.fieldPath);
  }
  return out;
}

/** Explicit orders, then the remaining inequality fields, then `__name__`. */
export function normalizedOrder(query: StructuredQuery): Order[] {
  const explicit = (query.orderBy ?? []).map((o) => ({
    field: o.field,
    direction: o.direction === "DESCENDING" ? "DESCENDING" : "ASCENDING",
  }));
  const seen = new Set(explicit.map((o) => o.field.fieldPath));
  const last = explicit.at(-1)?.direction ?? "ASCENDING";
  const extra = [...inequalityFields(query.where, new Set())]
    .filter((f) => !seen.has(f) && f !== NAME_FIELD)
    .sort((a, b) => compareReferences(parseFieldPath(a).join("/"), parseFieldPath(b).join("/")));
  const out = [...explicit, ...extra.map((f) => ({ field: { fieldPath: f }, direction: last }))];
  if (!seen.has(NAME_FIELD)) out.push({ field: { fieldPath: NAME_FIELD }, direction: last });
  return out;
}

function comparison(op: string, c: number): boolean {
  switch (op) {
    case "LESS_THAN":
      return c < 0;
    case "LESS_THAN_OR_EQUAL":
      return c <= 0;
    case "GREATER_THAN":
      return c > 0;
    case "GREATER_THAN_OR_EQUAL":
      return c >= 0;
    case "EQUAL":
      return c === 0;
    default:
      throw new RpcError("INVALID_ARGUMENT", `unsupported filter operator ${op}`);
  }
}

/** null and NaN in an `in` / `array-contains-any` list match nothing, as in Firestore. */
function matchable(v: Value): boolean {
  return !("nullValue" in v) && !isNaNValue(v);
}

function listOf(v: Value): Value[] {
  if (!("arrayValue" in v)) {
    throw new RpcError("INVALID_ARGUMENT", "in / not-in / array-contains-any need an array value");
  }
  return v.arrayValue.values ?? [];
}

export function matchesFilter(doc: StoredDocument, filter: Filter | undefined): boolean {
  if (!filter) return true;
  if (filter.compositeFilter) {
    const parts = filter.compositeFilter.filters ?? [];
    if (filter.compositeFilter.op === "OR") return parts.some((f) => matchesFilter(doc, f));
    if (filter.compositeFilter.op === "AND") return parts.every((f) => matchesFilter(doc, f));
    throw new RpcError("INVALID_ARGUMENT", "a composite filter needs op AND or OR");
  }
  if (filter.unaryFilter) {
    const v = valueAt(doc, filter.unaryFilter.field.fieldPath);
    if (v === undefined) return false;
    switch (filter.unaryFilter.op) {
      case "IS_NAN":
        return isNaNValue(v);
      case "IS_NULL":
        return "nullValue" in v;
      case "IS_NOT_NAN":
        return !("nullValue" in v) && !isNaNValue(v);
      case "IS_NOT_NULL":
        return !("nullValue" in v);
      default:
        throw new RpcError(
          "INVALID_ARGUMENT",
          `unsupported unary operator ${filter.unaryFilter.op}`,
        );
    }
  }
  if (filter.fieldFilter) {
    const { field, op = "", value } = filter.fieldFilter;
    const v = valueAt(doc, field.fieldPath);
    if (v === undefined) return false;
    switch (op) {
      case "NOT_EQUAL":
        return !("nullValue" in v) && !valuesEqual(v, value);
      case "ARRAY_CONTAINS":
        return "arrayValue" in v && (v.arrayValue.values ?? []).some((x) => valuesEqual(x, value));
      case "IN":
        return listOf(value).some((x) => matchable(x) && valuesEqual(v, x));
      case "ARRAY_CONTAINS_ANY": {
        const wanted = listOf(value);
        return (
          "arrayValue" in v &&
          (v.arrayValue.values ?? []).some((x) =>
            wanted.some((w) => matchable(w) && valuesEqual(x, w)),
          )
        );
      }
      case "NOT_IN": {
        const list = listOf(value);
        if (list.some((x) => "nullValue" in x)) return false;
        return !("nullValue" in v) && !list.some((x) => valuesEqual(v, x));
      }
      default:
        // NaN is in no range (only IS_NAN finds it).
        if (isNaNValue(v) || isNaNValue(value)) return false;
        return typeOrder(v) === typeOrder(value) && comparison(op, compareValues(v, value));
    }
  }
  return true;
}

function compareByOrder(a: StoredDocument, b: StoredDocument, order: Order[]): number {
  for (const o of order) {
    const x = valueAt(a, o.field.fieldPath);
    const y = valueAt(b, o.field.fieldPath);
    const c = compareValues(x!, y!);
    if (c !== 0) return o.direction === "DESCENDING" ? -c : c;
  }
  return 0;
}

function compareToCursor(doc: StoredDocument, order: Order[], values: Value[]): number {
  for (let i = 0; i < values.length && i < order.length; i++) {
    const o = order[i];
    const c = compareValues(valueAt(doc, o.field.fieldPath)!, values[i]);
    if (c !== 0) return o.direction === "DESCENDING" ? -c : c;
  }
  return 0;
}

function withinCursors(doc: StoredDocument, order: Order[], query: StructuredQuery): boolean {
  if (query.startAt?.values?.length) {
    const c = compareToCursor(doc, order, query.startAt.values);
    if (query.startAt.before ? c < 0 : c <= 0) return false;
  }
  if (query.endAt?.values?.length) {
    const c = compareToCursor(doc, order, query.endAt.values);
    if (query.endAt.before ? c >= 0 : c > 0) return false;
  }
  return true;
}

/** Whether one document is in the query's result, limit and offset aside. */
export function matchesQuery(
  doc: StoredDocument,
  parent: string,
  query: StructuredQuery,
  order: Order[] = normalizedOrder(query),
): boolean {
  if (!inScope(doc.name, parent, query)) return false;
  for (const o of order) if (valueAt(doc, o.field.fieldPath) === undefined) return false;
  return matchesFilter(doc, query.where) && withinCursors(doc, order, query);
}

const FIELD_OPERATORS = new Set([
  "LESS_THAN",
  "LESS_THAN_OR_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_OR_EQUAL",
  "EQUAL",
  "NOT_EQUAL",
  "ARRAY_CONTAINS",
  "IN",
  "ARRAY_CONTAINS_ANY",
  "NOT_IN",
]);
const LIST_OPERATORS = new Set(["IN", "NOT_IN", "ARRAY_CONTAINS_ANY"]);
const UNARY_OPERATORS = new Set(["IS_NAN", "IS_NULL", "IS_NOT_NAN", "IS_NOT_NULL"]);

function validateFilter(filter: Filter | undefined): void {
  if (!filter) return;
  if (filter.compositeFilter) {
    if (filter.compositeFilter.op !== "AND" && filter.compositeFilter.op !== "OR") {
      throw new RpcError("INVALID_ARGUMENT", "a composite filter needs op AND or OR");
    }
    for (const f of filter.compositeFilter.filters ?? []) validateFilter(f);
  } else if (filter.fieldFilter) {
    const { op = "", value, field } = filter.fieldFilter;
    if (!field?.fieldPath) throw new RpcError("INVALID_ARGUMENT", "a filter needs a field");
    if (!FIELD_OPERATORS.has(op))
      throw new RpcError("INVALID_ARGUMENT", `unsupported filter operator ${op}`);
    if (!value)
      throw new RpcError("INVALID_ARGUMENT", `filter on ${field.fieldPath} needs a value`);
    if (LIST_OPERATORS.has(op) && !("arrayValue" in value)) {
      throw new RpcError("INVALID_ARGUMENT", `${op} on ${field.fieldPath} needs an array value`);
    }
  } else if (filter.unaryFilter) {
    if (!UNARY_OPERATORS.has(filter.unaryFilter.op ?? "")) {
      throw new RpcError("INVALID_ARGUMENT", `unsupported unary operator ${filter.unaryFilter.op}`);
    }
  }
}

/** Throws INVALID_ARGUMENT for a query Firestore would refuse, before it runs or listens. */
export function validateQuery(query: StructuredQuery): void {
  if (!query.from || query.from.length !== 1) {
    throw new RpcError("INVALID_ARGUMENT", "a query needs exactly one `from` collection");
  }
  const limit = query.limit?.value;
  if (limit !== undefined && limit < 0) {
    throw new RpcError("INVALID_ARGUMENT", "limit must be non-negative");
  }
  validateFilter(query.where);
}

/** The query's result over its scope's documents, ordered, offset and limited, projected. */
export function runQuery(
  candidates: Iterable<StoredDocument>,
  parent: string,
  query: StructuredQuery,
): StoredDocument[] {
  validateQuery(query);
  const order = normalizedOrder(query);
  const matched: StoredDocument[] = [];
  for (const doc of candidates) if (matchesQuery(doc, parent, query, order)) matched.push(doc);
  matched.sort((a, b) => compareByOrder(a, b, order));
  const offset = query.offset ?? 0;
  const limit = query.limit?.value;
  const page = matched.slice(offset, limit === undefined ? undefined : offset + limit);
  return query.select ? page.map((d) => project(d, query.select?.fields ?? [])) : page;
}

/** The document with only the selected fields (an empty selection keeps only the name). */
export function project(doc: StoredDocument, fields: FieldReference[]): StoredDocument {
  let out: Fields = {};
  for (const f of fields) {
    if (f.fieldPath === NAME_FIELD) continue;
    const path = parseFieldPath(f.fieldPath);
    const v = getField(doc.fields, path);
    if (v === undefined) continue;
    out = setField(out, path, v);
  }
  return { ...doc, fields: out };
}

/** Whether the query has a limit or offset, so membership depends on other documents too. */
export function isWindowed(query: StructuredQuery): boolean {
  return query.limit?.value !== undefined || (query.offset ?? 0) > 0;
}
