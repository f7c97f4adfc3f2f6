import { randomBytes } from "node:crypto";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { checkFactsFromBytes, checkFactsOf, decisionInputFrom } from "./check-request.ts";

/**
 * The fast path reads a CheckRequest's bytes with a hand-written walker; Connect
 * decodes the whole message. Both must find the same facts in every request.
 */

// A deterministic generator, so a failure names a seed that reproduces it.
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}

const TOKENS = ["eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "abc.def.ghi", "", "ü-not-ascii"];
const AUTHORIZATIONS = [
  ...TOKENS.map((t) => `Bearer ${t}`),
  "bearer   abc.def.ghi",
  "Basic dXNlcjpwYXNz",
  " Bearer abc.def.ghi ",
  "",
];

function randomCheckRequest(seed: number): MessageInitShape<typeof CheckRequestSchema> {
  const { pick, chance } = generator(seed);
  const headers: Record<string, string> = {
    ":method": "GET",
    ":path": `/x/${seed}`,
    "user-agent": "test",
    "x-other": randomBytes(8).toString("hex"),
  };
  if (chance(0.7)) headers.authorization = pick(AUTHORIZATIONS);
  if (chance(0.7)) headers[":authority"] = pick(["orders.internal", "billing.internal:8080", ""]);
  if (chance(0.2)) headers.Authorization = pick(AUTHORIZATIONS); // not the lower-case key: ignored by both
  const headerMap = chance(0.4)
    ? {
        headers: [
          ...(chance(0.6)
            ? [{ key: pick(["authorization", "Authorization"]), value: pick(AUTHORIZATIONS) }]
            : []),
          ...(chance(0.3)
            ? [{ key: "authorization", value: "", rawValue: Buffer.from(pick(AUTHORIZATIONS), "latin1") }]
            : []),
          ...(chance(0.5) ? [{ key: ":authority", value: pick(["a.internal", "b.internal"]) }] : []),
          { key: "x-noise", value: "1" },
        ],
      }
    : undefined;
  const contextExtensions: Record<string, string> = { unrelated: "1" };
  if (chance(0.7)) contextExtensions.service = pick(["orders", "", "0b7e1c9a-6a4e-4a43-9d0a-1b2c3d4e5f60"]);
  if (chance(0.6)) contextExtensions.required_role = pick(["viewer", "editor", ""]);
  return {
    attributes: {
      source: {
        address: {
          address: {
            case: "socketAddress",
            value: { address: "10.0.0.7", portSpecifier: { case: "portValue", value: 4242 } },
          },
        },
        principal: "spiffe://cluster.local/ns/default/sa/client",
      },
      request: {
        time: { seconds: BigInt(1_700_000_000 + seed), nanos: 5 },
        http: {
          id: String(seed),
          method: "GET",
          headers: chance(0.9) ? headers : {},
          path: headers[":path"],
          host: chance(0.6) ? pick(["orders.internal", "", "Billing.Internal"]) : "",
          scheme: "https",
          size: BigInt(seed),
          protocol: "HTTP/2",
          body: chance(0.2) ? "payload" : "",
          headerMap,
        },
      },
      contextExtensions: chance(0.9) ? contextExtensions : {},
      metadataContext: {
        filterMetadata: {
          "envoy.filters.http.jwt_authn": { fields: { sub: { kind: { case: "stringValue", value: "x" } } } },
        },
      },
    },
  };
}

describe("reading a CheckRequest from its bytes", () => {
  it("finds what the full decode finds, in 500 generated requests", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const request = create(CheckRequestSchema, randomCheckRequest(seed));
      const bytes = toBinary(CheckRequestSchema, request);
      expect({ seed, facts: checkFactsFromBytes(bytes) }).toEqual({ seed, facts: checkFactsOf(request) });
    }
  });

  it("merges repeated messages as protobuf does (concatenated requests are one merged request)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const first = toBinary(CheckRequestSchema, create(CheckRequestSchema, randomCheckRequest(seed)));
      const second = toBinary(
        CheckRequestSchema,
        create(CheckRequestSchema, randomCheckRequest(seed + 1000)),
      );
      const merged = Buffer.concat([first, second]);
      const full = checkFactsOf(fromBinary(CheckRequestSchema, merged));
      expect({ seed, facts: checkFactsFromBytes(merged) }).toEqual({ seed, facts: full });
    }
  });

  it("reads a request inside a larger buffer (as the fast path hands it over) alike", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const request = create(CheckRequestSchema, randomCheckRequest(seed));
      const bytes = toBinary(CheckRequestSchema, request);
      const framed = Buffer.concat([Buffer.from([0, 1, 2, 3, 4]), bytes, Buffer.from([9])]);
      const inside = framed.subarray(5, 5 + bytes.length);
      expect({ seed, facts: checkFactsFromBytes(inside) }).toEqual({ seed, facts: checkFactsOf(request) });
    }
  });

  it("rejects invalid UTF-8 in the strings it reads, as protobuf-es does, and keeps a leading U+FEFF", () => {
    const placeholder = "PLACEHOLDER";
    const requestWith = (where: "authorization" | "host" | "service") =>
      Buffer.from(
        toBinary(
          CheckRequestSchema,
          create(CheckRequestSchema, {
            attributes: {
              request: {
                http: {
                  headers: { authorization: where === "authorization" ? placeholder : "Bearer a.b.c" },
                  host: where === "host" ? placeholder : "orders.internal",
                },
              },
              contextExtensions: { service: where === "service" ? placeholder : "orders" },
            },
          }),
        ),
      );
    const invalid = [
      [0x80], // a lone continuation byte
      [0xe2, 0x82], // a truncated three-byte sequence
      [0xc0, 0xaf], // an overlong "/"
      [0xed, 0xa0, 0x80], // a surrogate
      [0xff],
    ];
    for (const where of ["authorization", "host", "service"] as const) {
      for (const sequence of invalid) {
        const bytes = requestWith(where);
        Buffer.from([...sequence, ...Array(placeholder.length - sequence.length).fill(0x41)]).copy(
          bytes,
          bytes.indexOf(placeholder),
        );
        expect(() => fromBinary(CheckRequestSchema, bytes)).toThrow();
        expect(() => checkFactsFromBytes(bytes), `${where} ${sequence}`).toThrow();
      }
      const withBom = requestWith(where);
      Buffer.from("\ufeffPLACE", "utf8").copy(withBom, withBom.indexOf(placeholder));
      expect(checkFactsFromBytes(withBom)).toEqual(checkFactsOf(fromBinary(CheckRequestSchema, withBom)));
    }
  });

  it("reads the trace context only when asked, from the headers map or header_map (raw values too)", () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const fromMap = toBinary(
      CheckRequestSchema,
      create(CheckRequestSchema, {
        attributes: {
          request: {
            http: { headers: { traceparent: parent, tracestate: "a=1", authorization: "Bearer x" } },
          },
        },
      }),
    );
    expect(checkFactsFromBytes(fromMap).traceparent).toBeUndefined();
    expect(checkFactsFromBytes(fromMap, true)).toMatchObject({ traceparent: parent, tracestate: "a=1" });
    const fromHeaderMap = toBinary(
      CheckRequestSchema,
      create(CheckRequestSchema, {
        attributes: {
          request: {
            http: {
              headerMap: {
                headers: [
                  { key: "TraceParent", value: "00-old" },
                  { key: "traceparent", rawValue: Buffer.from(parent) },
                  { key: "authorization", value: "Bearer x" },
                ],
              },
            },
          },
        },
      }),
    );
    const facts = checkFactsFromBytes(fromHeaderMap, true);
    expect(facts).toMatchObject({ traceparent: parent, tracestate: undefined, authorization: "Bearer x" });
    // Reading it changes nothing else the decision reads.
    const { traceparent: _p, tracestate: _s, ...rest } = facts;
    expect(rest).toEqual(checkFactsFromBytes(fromHeaderMap));
    expect(checkFactsFromBytes(new Uint8Array(), true).traceparent).toBeUndefined();
  });

  it("reads an empty request as one without token, host or service", () => {
    const facts = checkFactsFromBytes(new Uint8Array());
    expect(facts).toEqual({
      authorization: undefined,
      authority: undefined,
      host: "",
      service: undefined,
      requiredRole: undefined,
    });
    expect(decisionInputFrom(facts)).toEqual({
      token: undefined,
      malformedCredentials: false,
      service: { host: "" },
      requiredRole: undefined,
    });
  });

  it("throws on bytes that are not a protobuf message", () => {
    expect(() => checkFactsFromBytes(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow();
    expect(() => checkFactsFromBytes(Uint8Array.from([0x0a, 0x05, 0x22]))).toThrow();
  });

  it("turns the facts into the engine's question", () => {
    const facts = { authority: "orders.internal", host: "", service: undefined, requiredRole: "viewer" };
    expect(decisionInputFrom({ ...facts, authorization: "Bearer a.b.c" })).toEqual({
      token: "a.b.c",
      malformedCredentials: false,
      service: { host: "orders.internal" },
      requiredRole: "viewer",
    });
    expect(decisionInputFrom({ ...facts, authorization: "Basic eA==", service: "orders" })).toMatchObject({
      token: undefined,
      malformedCredentials: true,
      service: { key: "orders" },
    });
  });
});
