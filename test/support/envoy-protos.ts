import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Protobuf from "protobufjs";

/**
 * Envoy's own API protos (the copy @grpc/grpc-js-xds ships) and a strict proto3-JSON parser over
 * them: Envoy reads its YAML bootstrap as proto3 JSON, and rejects a field its protos do not have.
 * protobufjs parses the .proto files (it tolerates the stale protoc-gen-validate options they
 * carry, which protoc and buf refuse) but its fromObject ignores unknown keys; so the walk below
 * checks every key against the descriptors, resolves each Any's "@type" (loading its package on
 * demand) and checks inside it too, then encodes the result as a real Bootstrap message.
 */

const require = createRequire(import.meta.url);
const protobuf = require("protobufjs") as typeof Protobuf;

const XDS_DEPS = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
const INCLUDE_DIRS = [
  ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((dir) => join(XDS_DEPS, dir)),
  // google/protobuf/descriptor.proto, which the annotation protos import; the other well-known
  // types are built into protobufjs.
  dirname(require.resolve("protobufjs/package.json")),
];

export class EnvoyConfigError extends Error {
  override readonly name = "EnvoyConfigError";
}

export interface EnvoyProtos {
  /** Parses proto3 JSON into a message of `typeName`, failing on anything its protos do not define. */
  parse(typeName: string, json: unknown): Uint8Array;
}

export function loadEnvoyProtos(): EnvoyProtos {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  const loadedDirs = new Set<string>();

  /** Every .proto file of a package (envoy.extensions.filters.http.router.v3 → its folder). */
  const loadPackageOf = (typeName: string): void => {
    const packageParts = typeName.split(".").filter((part) => /^[a-z0-9_]+$/.test(part));
    const relative = packageParts.join("/");
    if (loadedDirs.has(relative)) return;
    loadedDirs.add(relative);
    for (const dir of INCLUDE_DIRS) {
      const folder = join(dir, relative);
      if (!existsSync(folder)) continue;
      const files = readdirSync(folder).filter((file) => file.endsWith(".proto"));
      root.loadSync(
        files.map((file) => join(relative, file)),
        { keepCase: true },
      );
      root.resolveAll();
    }
  };

  const lookup = (typeName: string, path: string): Protobuf.Type => {
    const find = () => {
      try {
        return root.lookupType(typeName);
      } catch {
        return undefined;
      }
    };
    let type = find();
    if (type === undefined) {
      loadPackageOf(typeName);
      type = find();
    }
    if (type === undefined) throw new EnvoyConfigError(`${path}: unknown type ${typeName}`);
    return type;
  };

  return {
    parse(typeName, json) {
      const type = lookup(typeName, "$");
      const object = toObject(type, json, "$", lookup);
      return type.encode(type.fromObject(object)).finish();
    },
  };
}

type Lookup = (typeName: string, path: string) => Protobuf.Type;

const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, char: string) => char.toUpperCase());

const fail = (path: string, message: string): never => {
  throw new EnvoyConfigError(`${path}: ${message}`);
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const WRAPPERS: Record<string, string> = {
  ".google.protobuf.DoubleValue": "double",
  ".google.protobuf.FloatValue": "float",
  ".google.protobuf.Int64Value": "int64",
  ".google.protobuf.UInt64Value": "uint64",
  ".google.protobuf.Int32Value": "int32",
  ".google.protobuf.UInt32Value": "uint32",
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "bytes",
};

/** proto3 JSON → the plain object protobufjs' fromObject takes, checking every key on the way. */
function toObject(type: Protobuf.Type, json: unknown, path: string, lookup: Lookup): Record<string, unknown> {
  const special = wellKnown(type, json, path, lookup);
  if (special !== undefined) return special;
  if (!isObject(json)) return fail(path, `expected an object for ${type.fullName.slice(1)}`);
  const byJsonName = new Map<string, Protobuf.Field>();
  for (const field of type.fieldsArray) {
    byJsonName.set(field.name, field);
    byJsonName.set(camelCase(field.name), field);
  }
  const result: Record<string, unknown> = {};
  const oneofsSet = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = byJsonName.get(key);
    const at = `${path}.${key}`;
    if (field === undefined) fail(at, `unknown field of ${type.fullName.slice(1)}`);
    if (value === null && field!.resolvedType?.fullName !== ".google.protobuf.Value") continue;
    const oneof = field!.partOf;
    if (oneof !== null && !oneof.name.startsWith("_")) {
      const earlier = oneofsSet.get(oneof.name);
      if (earlier !== undefined) fail(at, `${earlier} and ${field!.name} are both in oneof ${oneof.name}`);
      oneofsSet.set(oneof.name, field!.name);
    }
    result[field!.name] = fieldValue(field!, value, at, lookup);
  }
  return result;
}

function fieldValue(field: Protobuf.Field, value: unknown, path: string, lookup: Lookup): unknown {
  if (field.map) {
    if (!isObject(value)) return fail(path, "expected an object (a map)");
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, singleValue(field, item, `${path}.${key}`, lookup)]),
    );
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return fail(path, "expected a list");
    return value.map((item, index) => singleValue(field, item, `${path}[${index}]`, lookup));
  }
  return singleValue(field, value, path, lookup);
}

function singleValue(field: Protobuf.Field, value: unknown, path: string, lookup: Lookup): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return toObject(resolved, value, path, lookup);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === "string" && value in resolved.values) return value;
    if (typeof value === "number" && Number.isInteger(value)) return value;
    return fail(path, `not a value of enum ${resolved.fullName.slice(1)}: ${JSON.stringify(value)}`);
  }
  return scalar(field.type, value, path);
}

function scalar(kind: string, value: unknown, path: string): unknown {
  switch (kind) {
    case "string":
      if (typeof value === "string") return value;
      break;
    case "bool":
      if (typeof value === "boolean") return value;
      break;
    case "bytes":
      if (typeof value === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return value;
      break;
    case "double":
    case "float":
      if (typeof value === "number") return value;
      if (typeof value === "string" && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/.test(value))
        return Number(value);
      break;
    default: {
      // Every integer kind: a JSON number or a decimal string (64-bit ones are usually strings).
      const unsigned = kind.startsWith("u") || kind.startsWith("fixed");
      const text = typeof value === "number" ? String(value) : value;
      if (typeof text === "string" && (unsigned ? /^\d+$/ : /^-?\d+$/).test(text)) {
        return kind.endsWith("64") ? text : Number(text);
      }
    }
  }
  return fail(path, `expected a ${kind}, got ${JSON.stringify(value)}`);
}

/** The well-known types whose JSON form is not an object of their fields. */
function wellKnown(
  type: Protobuf.Type,
  json: unknown,
  path: string,
  lookup: Lookup,
): Record<string, unknown> | undefined {
  const name = type.fullName;
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) return { value: scalar(wrapped, json, path) };
  switch (name) {
    case ".google.protobuf.Duration": {
      const match = typeof json === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
      if (match === null)
        return fail(path, `expected a duration such as "1.5s", got ${JSON.stringify(json)}`);
      const sign = match[1] === "-" ? -1 : 1;
      return { seconds: sign * Number(match[2]), nanos: sign * Number((match[3] ?? "").padEnd(9, "0")) };
    }
    case ".google.protobuf.Timestamp": {
      const millis = typeof json === "string" ? Date.parse(json) : Number.NaN;
      if (Number.isNaN(millis)) return fail(path, "expected an RFC 3339 timestamp");
      return { seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1_000_000 };
    }
    case ".google.protobuf.Empty":
      if (!isObject(json) || Object.keys(json).length > 0) return fail(path, "expected {}");
      return {};
    case ".google.protobuf.FieldMask":
      if (typeof json !== "string") return fail(path, "expected a field mask string");
      return { paths: json === "" ? [] : json.split(",") };
    case ".google.protobuf.Struct":
      if (!isObject(json)) return fail(path, "expected an object (a Struct)");
      return {
        fields: Object.fromEntries(Object.entries(json).map(([key, item]) => [key, anyJson(item)])),
      };
    case ".google.protobuf.ListValue":
      if (!Array.isArray(json)) return fail(path, "expected a list (a ListValue)");
      return { values: json.map(anyJson) };
    case ".google.protobuf.Value":
      return anyJson(json);
    case ".google.protobuf.Any": {
      if (!isObject(json)) return fail(path, "expected an object with @type (an Any)");
      const typeUrl = json["@type"];
      if (typeof typeUrl !== "string" || !typeUrl.includes("/")) return fail(path, "an Any needs @type");
      const inner = lookup(typeUrl.slice(typeUrl.lastIndexOf("/") + 1), `${path}["@type"]`);
      const { "@type": _, ...rest } = json;
      const special =
        inner.fullName.startsWith(".google.protobuf.") && inner.fullName !== ".google.protobuf.Any";
      const object =
        special && "value" in rest
          ? toObject(inner, rest.value, `${path}.value`, lookup)
          : toObject(inner, rest, path, lookup);
      return { type_url: typeUrl, value: inner.encode(inner.fromObject(object)).finish() };
    }
    default:
      return undefined;
  }
}

/** Any JSON as a google.protobuf.Value. */
function anyJson(json: unknown): Record<string, unknown> {
  if (json === null) return { null_value: "NULL_VALUE" };
  if (typeof json === "number") return { number_value: json };
  if (typeof json === "string") return { string_value: json };
  if (typeof json === "boolean") return { bool_value: json };
  if (Array.isArray(json)) return { list_value: { values: json.map(anyJson) } };
  return {
    struct_value: {
      fields: Object.fromEntries(Object.entries(json as object).map(([key, item]) => [key, anyJson(item)])),
    },
  };
}

export const ENVOY_BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";
