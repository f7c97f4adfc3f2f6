import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
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
 * decodes only the strings the decision reads and skips the rest. Protobuf
 * semantics hold: a repeated occurrence of a message field merges (later scalar
 * and map values win, repeated fields append). Fields it skips are not checked
 * for valid UTF-8.
 */
export function checkFactsFromBytes(bytes: Uint8Array): CheckFacts {
  const facts: MutableFacts = { host: "", headerMap: [] };
  forEachField(new BinaryReader(bytes), (reader, field, wireType) => {
    // CheckRequest.attributes = 1
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    readAttributes(nested(reader), facts);
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
  headerMap: Array<{ key: string; value: string }>;
}

// AttributeContext: request = 4, context_extensions = 10 (map<string, string>).
function readAttributes(reader: BinaryReader, facts: MutableFacts): void {
  forEachField(reader, (reader, field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 4) readRequest(nested(reader), facts);
    else if (field === 10) {
      const [key, value] = readMapEntry(nested(reader));
      if (key === "service") facts.service = value;
      else if (key === "required_role") facts.requiredRole = value;
    } else return false;
    return true;
  });
}

// AttributeContext.Request: http = 2.
function readRequest(reader: BinaryReader, facts: MutableFacts): void {
  forEachField(reader, (reader, field, wireType) => {
    if (field !== 2 || wireType !== WireType.LengthDelimited) return false;
    readHttp(nested(reader), facts);
    return true;
  });
}

// AttributeContext.HttpRequest: headers = 3 (map<string, string>), host = 5, header_map = 13.
function readHttp(reader: BinaryReader, facts: MutableFacts): void {
  forEachField(reader, (reader, field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 3) {
      const [key, value] = readMapEntry(nested(reader));
      if (key === "authorization") facts.authorization = value;
      else if (key === ":authority") facts.authority = value;
    } else if (field === 5) facts.host = reader.string();
    else if (field === 13) readHeaderMap(nested(reader), facts);
    else return false;
    return true;
  });
}

// config.core.v3.HeaderMap: headers = 1, each a HeaderValue (key = 1, value = 2, raw_value = 3).
function readHeaderMap(reader: BinaryReader, facts: MutableFacts): void {
  forEachField(reader, (reader, field, wireType) => {
    if (field !== 1 || wireType !== WireType.LengthDelimited) return false;
    const entry = nested(reader);
    let key = "";
    let value = "";
    let rawValue: Uint8Array = new Uint8Array();
    forEachField(entry, (entry, field, wireType) => {
      if (wireType !== WireType.LengthDelimited) return false;
      if (field === 1) key = entry.string();
      else if (field === 2) value = entry.string();
      else if (field === 3) rawValue = entry.bytes();
      else return false;
      return true;
    });
    const name = key.toLowerCase();
    if (name === "authorization" || name === ":authority") {
      facts.headerMap.push({ key: name, value: headerValueText(value, rawValue) });
    }
    return true;
  });
}

/** A map<string, string> entry: key = 1, value = 2 (either may be absent on the wire). */
function readMapEntry(reader: BinaryReader): [string, string] {
  let key = "";
  let value = "";
  forEachField(reader, (reader, field, wireType) => {
    if (wireType !== WireType.LengthDelimited) return false;
    if (field === 1) key = reader.string();
    else if (field === 2) value = reader.string();
    else return false;
    return true;
  });
  return [key, value];
}

/** Calls `read` for each field; a field it does not consume (returns false) is skipped. */
function forEachField(
  reader: BinaryReader,
  read: (reader: BinaryReader, field: number, wireType: WireType) => boolean,
): void {
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!read(reader, field, wireType)) reader.skip(wireType, field);
  }
}

const nested = (reader: BinaryReader) => new BinaryReader(reader.bytes());

// Repeated headers are joined with commas, as Envoy does in the `headers` map.
const joinHeaderValues = (values: readonly string[]) => values.join(",");

// With encode_raw_headers Envoy may send the value as raw bytes instead.
const headerValueText = (value: string, rawValue: Uint8Array) =>
  value !== "" ? value : Buffer.from(rawValue).toString("latin1");
