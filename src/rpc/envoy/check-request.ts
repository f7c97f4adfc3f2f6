import { isAscii, isUtf8 } from "node:buffer";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { DecisionInput, ServiceSelector } from "../../domain/decision/decision-engine.ts";
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
  /**
   * The authorized request's W3C trace context, read only when asked (tracing
   * on): the headers map's, else header_map's last (value, or raw_value as latin1).
   */
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

/**
 * Envoy's view of a request → the engine's question. The service comes from
 * the route's context_extensions (`service`, `required_role`), falling back to
 * the request's host; the token from the `authorization` header.
 */
export function decisionInputFrom(facts: CheckFacts): DecisionInput {
  const authorization = facts.authorization;
  const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
  return {
    token: match?.[1],
    malformedCredentials: authorization !== undefined && match === null,
    service: serviceOf(facts),
    requiredRole: facts.requiredRole,
  };
}

/** The route's service (context_extensions), else the request's host. */
function serviceOf(facts: CheckFacts): ServiceSelector {
  if (facts.service !== undefined && facts.service !== "") return { key: facts.service };
  return { host: facts.host || facts.authority || "" };
}

/**
 * The question as decisionInputFrom would put it, for the common form of the
 * header ("Bearer " and the token, nothing around it), without checking the
 * token's syntax: only to look up a remembered answer, which matches only a
 * token that passed that check when it was first asked. Undefined for any
 * other form (then decisionInputFrom decides).
 */
export function rememberedQuestion(facts: CheckFacts): DecisionInput | undefined {
  const authorization = facts.authorization;
  if (authorization === undefined || !authorization.startsWith("Bearer ")) return undefined;
  return { token: authorization.slice(7), service: serviceOf(facts), requiredRole: facts.requiredRole };
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
 * compares header and extension names in place, decodes only the values the
 * decision reads and skips everything else, allocating almost nothing (this
 * runs on every request the mesh sees). Protobuf semantics hold: a repeated
 * occurrence of a message field merges (later scalar and map values win,
 * repeated fields append). Strings it reads must be valid UTF-8, as for
 * protobuf-es; fields it skips are not checked.
 */
export function checkFactsFromBytes(bytes: Uint8Array, readTraceContext = false): CheckFacts {
  const walker = new FieldWalker(bytes);
  const facts: MutableFacts = { host: "", headerMap: undefined, trace: readTraceContext ? {} : undefined };
  while (walker.next(bytes.length)) {
    if (walker.is(1)) readAttributes(walker, walker.enter(), facts);
    else walker.skip();
  }
  const fromHeaderMap = (name: string) => {
    const values = facts.headerMap?.filter((h) => h.key === name).map((h) => h.value) ?? [];
    return values.length === 0 ? undefined : joinHeaderValues(values);
  };
  const checked = {
    authorization: facts.authorization ?? fromHeaderMap("authorization"),
    authority: facts.authority ?? fromHeaderMap(":authority"),
    host: facts.host,
    service: facts.service,
    requiredRole: facts.requiredRole,
  };
  const trace = facts.trace;
  if (trace === undefined) return checked;
  return {
    ...checked,
    traceparent: trace.traceparent ?? trace.rawTraceparent,
    tracestate: trace.tracestate ?? trace.rawTracestate,
  };
}

interface MutableFacts {
  authorization?: string;
  authority?: string;
  host: string;
  service?: string;
  requiredRole?: string;
  /** header_map entries named authorization or :authority, in order (key lower-cased). */
  headerMap: Array<{ key: "authorization" | ":authority"; value: string }> | undefined;
  /** Only when the trace context is asked for: from the headers map, and from header_map. */
  trace:
    | { traceparent?: string; tracestate?: string; rawTraceparent?: string; rawTracestate?: string }
    | undefined;
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const AUTHORIZATION = ascii("authorization");
const AUTHORITY = ascii(":authority");
const SERVICE = ascii("service");
const REQUIRED_ROLE = ascii("required_role");
const TRACEPARENT = ascii("traceparent");
const TRACESTATE = ascii("tracestate");

function readAttributes(walker: FieldWalker, end: number, facts: MutableFacts): void {
  while (walker.next(end)) {
    if (walker.is(4)) readRequest(walker, walker.enter(), facts);
    else if (walker.is(10)) {
      const entry = walker.entry(walker.enter(), 2);
      if (walker.sameBytes(entry.key, SERVICE)) facts.service = walker.text(entry.value);
      else if (walker.sameBytes(entry.key, REQUIRED_ROLE)) facts.requiredRole = walker.text(entry.value);
    } else walker.skip();
  }
}

function readRequest(walker: FieldWalker, end: number, facts: MutableFacts): void {
  while (walker.next(end)) {
    if (walker.is(2)) readHttp(walker, walker.enter(), facts);
    else walker.skip();
  }
}

function readHttp(walker: FieldWalker, end: number, facts: MutableFacts): void {
  while (walker.next(end)) {
    if (walker.is(3)) {
      const entry = walker.entry(walker.enter(), 2);
      if (walker.sameBytes(entry.key, AUTHORIZATION)) facts.authorization = walker.text(entry.value);
      else if (walker.sameBytes(entry.key, AUTHORITY)) facts.authority = walker.text(entry.value);
      else if (facts.trace !== undefined) {
        if (walker.sameBytes(entry.key, TRACEPARENT)) facts.trace.traceparent = walker.text(entry.value);
        else if (walker.sameBytes(entry.key, TRACESTATE)) facts.trace.tracestate = walker.text(entry.value);
      }
    } else if (walker.is(5)) facts.host = walker.text(walker.span());
    else if (walker.is(13)) readHeaderMap(walker, walker.enter(), facts);
    else walker.skip();
  }
}

function readHeaderMap(walker: FieldWalker, end: number, facts: MutableFacts): void {
  while (walker.next(end)) {
    if (!walker.is(1)) {
      walker.skip();
      continue;
    }
    // HeaderValue: key = 1, value = 2, raw_value = 3.
    const entry = walker.entry(walker.enter(), 3);
    if (facts.trace !== undefined) {
      if (walker.sameBytesIgnoringCase(entry.key, TRACEPARENT)) {
        facts.trace.rawTraceparent = headerText(walker, entry);
        continue;
      }
      if (walker.sameBytesIgnoringCase(entry.key, TRACESTATE)) {
        facts.trace.rawTracestate = headerText(walker, entry);
        continue;
      }
    }
    const name = walker.sameBytesIgnoringCase(entry.key, AUTHORIZATION)
      ? "authorization"
      : walker.sameBytesIgnoringCase(entry.key, AUTHORITY)
        ? ":authority"
        : undefined;
    if (name === undefined) continue;
    facts.headerMap ??= [];
    facts.headerMap.push({ key: name, value: headerText(walker, entry) });
  }
}

/** A HeaderValue's text: its value, or its raw_value (encode_raw_headers) as latin1. */
function headerText(walker: FieldWalker, entry: Entry): string {
  const value = walker.text(entry.value);
  return value !== "" ? value : walker.latin1(entry.raw);
}

/** Where a length-delimited value lies in the request: [start, end). Empty when absent. */
interface Span {
  start: number;
  end: number;
}

/** The spans of a small message's string fields 1…3 (a map entry's key and value, or a HeaderValue). */
interface Entry {
  readonly key: Span;
  readonly value: Span;
  readonly raw: Span;
}

/**
 * Protobuf-es's BinaryReader for varints and skipping, with tags, lengths and
 * values read as positions rather than as arrays and subarrays. One per request;
 * the entry it fills is reused from field to field.
 */
class FieldWalker {
  private readonly reader: BinaryReader;
  private readonly bytes: Uint8Array;
  private readonly buffer: Buffer;
  private field = 0;
  private wireType = 0;
  private readonly current: Entry = {
    key: { start: 0, end: 0 },
    value: { start: 0, end: 0 },
    raw: { start: 0, end: 0 },
  };
  private readonly lastSpan: Span = { start: 0, end: 0 };

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    // Buffer's decoder, not TextDecoder: a fifth of the walk's time went to TextDecoder's per-call setup.
    this.buffer = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.reader = new BinaryReader(bytes);
  }

  /** Reads the next field's tag, or returns false at the end of the message ending at `end`. */
  next(end: number): boolean {
    const reader = this.reader;
    if (reader.pos >= end) {
      if (reader.pos !== end) throw new RangeError("a field runs past the end of its message");
      return false;
    }
    const start = reader.pos;
    const tag = reader.uint32();
    // The checks BinaryReader.tag() makes, without its [field, wireType] array.
    if (reader.pos - start > 5 || (reader.pos - start === 5 && this.bytes[reader.pos - 1]! > 0x0f)) {
      throw new Error("illegal tag: varint overflows uint32");
    }
    this.field = tag >>> 3;
    this.wireType = tag & 7;
    if (this.field <= 0 || this.wireType > 5) {
      throw new Error(`illegal tag: field no ${this.field} wire type ${this.wireType}`);
    }
    return true;
  }

  /** Whether the field just read is `field`, length-delimited. */
  is(field: number): boolean {
    return this.field === field && this.wireType === WireType.LengthDelimited;
  }

  /** Steps over the field just read (BinaryReader.skip would also return it as a subarray). */
  skip(): void {
    const reader = this.reader;
    switch (this.wireType) {
      case WireType.Varint:
        while (this.bytes[reader.pos++]! & 0x80) {
          // continuation bit set: the varint goes on
        }
        break;
      case WireType.Bit64:
        reader.pos += 8;
        break;
      case WireType.Bit32:
        reader.pos += 4;
        break;
      case WireType.LengthDelimited:
        reader.pos = this.enter();
        return;
      default:
        reader.skip(this.wireType, this.field);
        return;
    }
    if (reader.pos > this.bytes.length) throw new RangeError("premature end of a field");
  }

  /** Reads a length prefix; returns where the value ends (the reader is at its start). */
  enter(): number {
    const length = this.reader.uint32();
    const end = this.reader.pos + length;
    if (end > this.bytes.length) throw new RangeError("premature end of a length-delimited field");
    return end;
  }

  /** Steps over a length-delimited value; returns where it lies (valid until the next call). */
  span(into: Span = this.lastSpan): Span {
    into.end = this.enter();
    into.start = this.reader.pos;
    this.reader.pos = into.end;
    return into;
  }

  /**
   * Reads the message ending at `end` whose fields 1…`count` are strings or bytes;
   * a later occurrence wins, anything else is skipped (valid until the next call).
   */
  entry(end: number, count: number): Entry {
    const entry = this.current;
    entry.key.start =
      entry.key.end =
      entry.value.start =
      entry.value.end =
      entry.raw.start =
      entry.raw.end =
        0;
    while (this.next(end)) {
      if (this.wireType !== WireType.LengthDelimited || this.field > count) {
        this.skip();
        continue;
      }
      this.span(this.field === 1 ? entry.key : this.field === 2 ? entry.value : entry.raw);
    }
    return entry;
  }

  sameBytes(span: Span, expected: Uint8Array): boolean {
    if (span.end - span.start !== expected.length) return false;
    for (let i = 0; i < expected.length; i++) if (this.bytes[span.start + i] !== expected[i]) return false;
    return true;
  }

  /** ASCII case-insensitive; `lowerCase` is already lower case. */
  sameBytesIgnoringCase(span: Span, lowerCase: Uint8Array): boolean {
    if (span.end - span.start !== lowerCase.length) return false;
    for (let i = 0; i < lowerCase.length; i++) {
      const byte = this.bytes[span.start + i]!;
      if ((byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte) !== lowerCase[i]) return false;
    }
    return true;
  }

  /** A string field's text; invalid UTF-8 is an error, as it is to protobuf-es. */
  text(span: Span): string {
    if (span.end === span.start) return "";
    const bytes = this.buffer.subarray(span.start, span.end);
    // Header values are ASCII (a token is 700 of them): copied as they are, not decoded as UTF-8.
    if (isAscii(bytes)) return this.buffer.toString("latin1", span.start, span.end);
    if (!isUtf8(bytes)) throw new Error("invalid UTF-8 in a string field");
    return this.buffer.toString("utf8", span.start, span.end);
  }

  latin1(span: Span): string {
    return this.buffer.toString("latin1", span.start, span.end);
  }
}

const joinHeaderValues = (values: readonly string[]) => values.join(",");

// With encode_raw_headers Envoy may send the value as raw bytes instead.
const headerValueText = (value: string, rawValue: Uint8Array) =>
  value !== "" ? value : Buffer.from(rawValue).toString("latin1");
