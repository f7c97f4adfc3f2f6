import { BinaryReader, getTextEncoding, WireType } from "@bufbuild/protobuf/wire";
import type { DecisionInput } from "../../domain/decision/decision-engine.ts";
import type { CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The few things the decision reads of Envoy's CheckRequest. */
export interface CheckFacts {
  /** The `authorization` request header, if any. */
  readonly authorization: string | undefined;
  /** The `:authority` pseudo-header, if any. */
  readonly authority: string | undefined;
  /** attributes.request.http.host ("" when unset). */
  readonly host: string;
  /** context_extensions `service` and `required_role`, set per route in Envoy. */
  readonly service: string | undefined;
  readonly requiredRole: string | undefined;
}

/**
 * Envoy's view of a request → the engine's question. The service comes from
 * the route's context_extensions (`service`, `required_role`), falling back to
 * the request's host; the token from the `authorization` header.
 */
export function decisionInputFrom(facts: CheckFacts): DecisionInput {
  const authorization = facts.authorization;
  const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
  const host = facts.host || facts.authority || "";
  return {
    token: match?.[1],
    malformedCredentials: authorization !== undefined && match === null,
    service: facts.service !== undefined && facts.service !== "" ? { key: facts.service } : { host },
    requiredRole: facts.requiredRole,
  };
}

/** The facts of a decoded CheckRequest (Connect's path: JSON, gRPC-web, compressed gRPC). */
export function checkFactsOf(request: CheckRequest): CheckFacts {
  const http = request.attributes?.request?.http;
  const header = (name: string): string | undefined => {
    if (http === undefined) return undefined;
    const fromMap = http.headers[name];
    if (fromMap !== undefined) return fromMap;
    const raw = http.headerMap?.headers.filter((h) => h.key.toLowerCase() === name);
    if (raw === undefined || raw.length === 0) return undefined;
    return joinHeaderValues(raw.map((h) => headerValueText(h.value, h.rawValue)));
  };
  const extensions = request.attributes?.contextExtensions ?? {};
  return {
    authorization: header("authorization"),
    authority: header(":authority"),
    host: http?.host ?? "",
    service: extensions.service,
    requiredRole: extensions.required_role,
  };
}

/**
 * The same facts read straight from the CheckRequest's bytes (the gRPC fast
 * path): Envoy sends every header, both peers and the route's metadata, and
 * decoding all of it cost more than the rest of a warm Check. This walks
 * attributes → request → http and context_extensions by Envoy's field numbers,
 * compares header and extension names as bytes, decodes only the values the
 * decision reads and skips everything else. Protobuf semantics hold: a repeated
 * occurrence of a message field merges (later scalar and map values win,
 * repeated fields append). Fields it skips are not checked for valid UTF-8.
 */
export function checkFactsFromBytes(bytes: Uint8Array): CheckFacts {
  const reader = new BinaryReader(bytes);
  const facts: MutableFacts = { host: "", headerMap: [] };
  // CheckRequest.attributes = 1
  forEachField(reader, reader.len, (field, wireType) => {
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    readAttributes(reader, enter(reader), facts);
    return true;
  });
  const fromHeaderMap = (name: string) => {
    const values = facts.headerMap.filter((h) => h.key === name).map((h) => h.value);
    return values.length === 0 ? undefined : joinHeaderValues(values);
  };
  return {
    authorization: facts.authorization ?? fromHeaderMap("authorization"),
    authority: facts.authority ?? fromHeaderMap(":authority"),
    host: facts.host,
    service: facts.service,
    requiredRole: facts.requiredRole,
  };
}

interface MutableFacts {
  authorization?: string;
  authority?: string;
  host: string;
  service?: string;
  requiredRole?: string;
  /** header_map entries named authorization or :authority, in order (key lower-cased). */
  headerMap: Array<{ key: "authorization" | ":authority"; value: string }>;
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const AUTHORIZATION = ascii("authorization");
const AUTHORITY = ascii(":authority");
const SERVICE = ascii("service");
const REQUIRED_ROLE = ascii("required_role");
const utf8 = getTextEncoding();

// AttributeContext: request = 4, context_extensions = 10 (map<string, string>).
function readAttributes(reader: BinaryReader, end: number, facts: MutableFacts): void {
  forEachField(reader, end, (field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 4) readRequest(reader, enter(reader), facts);
    else if (field === 10) {
      const entry = readMapEntry(reader, enter(reader));
      if (sameBytes(entry.key, SERVICE)) facts.service = utf8.decodeUtf8(entry.value);
      else if (sameBytes(entry.key, REQUIRED_ROLE)) facts.requiredRole = utf8.decodeUtf8(entry.value);
    } else return false;
    return true;
  });
}

// AttributeContext.Request: http = 2.
function readRequest(reader: BinaryReader, end: number, facts: MutableFacts): void {
  forEachField(reader, end, (field, wireType) => {
    if (field !== 2 || wireType !== WireType.LengthDelimited) return false;
    readHttp(reader, enter(reader), facts);
    return true;
  });
}

// AttributeContext.HttpRequest: headers = 3 (map<string, string>), host = 5, header_map = 13.
function readHttp(reader: BinaryReader, end: number, facts: MutableFacts): void {
  forEachField(reader, end, (field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 3) {
      const entry = readMapEntry(reader, enter(reader));
      if (sameBytes(entry.key, AUTHORIZATION)) facts.authorization = utf8.decodeUtf8(entry.value);
      else if (sameBytes(entry.key, AUTHORITY)) facts.authority = utf8.decodeUtf8(entry.value);
    } else if (field === 5) facts.host = reader.string();
    else if (field === 13) readHeaderMap(reader, enter(reader), facts);
    else return false;
    return true;
  });
}

// config.core.v3.HeaderMap: headers = 1, each a HeaderValue (key = 1, value = 2, raw_value = 3).
function readHeaderMap(reader: BinaryReader, end: number, facts: MutableFacts): void {
  forEachField(reader, end, (field, wireType) => {
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    const [, key = EMPTY, value = EMPTY, rawValue = EMPTY] = readLengthDelimited(reader, enter(reader), 3);
    const name = sameBytesIgnoringCase(key, AUTHORIZATION)
      ? "authorization"
      : sameBytesIgnoringCase(key, AUTHORITY)
        ? ":authority"
        : undefined;
    if (name !== undefined) {
      facts.headerMap.push({ key: name, value: headerValueText(utf8.decodeUtf8(value), rawValue) });
    }
    return true;
  });
}

const EMPTY = new Uint8Array(0);

/** A map<string, string> entry's key and value bytes (key = 1, value = 2; either may be absent). */
function readMapEntry(reader: BinaryReader, end: number): { key: Uint8Array; value: Uint8Array } {
  const [, key = EMPTY, value = EMPTY] = readLengthDelimited(reader, end, 2);
  return { key, value };
}

/**
 * The string or bytes fields 1…`count` of a small message, as bytes (views,
 * not copies), indexed by field number; a later occurrence wins.
 */
function readLengthDelimited(
  reader: BinaryReader,
  end: number,
  count: number,
): Array<Uint8Array | undefined> {
  const fields: Array<Uint8Array | undefined> = [];
  forEachField(reader, end, (field, wireType) => {
    if (wireType !== WireType.LengthDelimited || field < 1 || field > count) return false;
    fields[field] = reader.bytes();
    return true;
  });
  return fields;
}

/** Reads a length prefix; returns where the nested message ends. */
function enter(reader: BinaryReader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new RangeError("premature end of a nested message");
  return end;
}

/** Calls `read` for each field up to `end`; a field it does not consume (returns false) is skipped. */
function forEachField(
  reader: BinaryReader,
  end: number,
  read: (field: number, wireType: WireType) => boolean,
): void {
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (!read(field, wireType)) reader.skip(wireType, field);
  }
  if (reader.pos !== end) throw new RangeError("a field runs past the end of its message");
}

function sameBytes(bytes: Uint8Array, expected: Uint8Array): boolean {
  if (bytes.length !== expected.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== expected[i]) return false;
  return true;
}

/** ASCII case-insensitive; `lowerCase` is already lower case. */
function sameBytesIgnoringCase(bytes: Uint8Array, lowerCase: Uint8Array): boolean {
  if (bytes.length !== lowerCase.length) return false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if ((byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte) !== lowerCase[i]) return false;
  }
  return true;
}

// Repeated headers are joined with commas, as Envoy does in the `headers` map.
const joinHeaderValues = (values: readonly string[]) => values.join(",");

// With encode_raw_headers Envoy may send the value as raw bytes instead.
const headerValueText = (value: string, rawValue: Uint8Array) =>
  value !== "" ? value : Buffer.from(rawValue).toString("latin1");
