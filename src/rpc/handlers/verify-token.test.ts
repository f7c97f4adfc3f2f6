import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { Authenticated, DecisionEngine, DecisionInput } from "../../domain/decision/decision-engine.ts";
import { VerifyTokenRequestSchema } from "../../gen/gatehouse/v1/auth_pb.js";
import { createVerifyTokenHandler } from "./verify-token.ts";

const SERVICE_ID = "0b9f5b5e-6f0e-4a53-9c1e-2b1f6f0d3c11";

/** An engine that answers every question with one decision object, as its memo does for repeats. */
function engineAnswering(decisions: Authenticated[]) {
  const asked: DecisionInput[] = [];
  const engine = {
    decide: async (input: DecisionInput) => {
      asked.push(input);
      return decisions[Math.min(asked.length - 1, decisions.length - 1)]!;
    },
  } as unknown as DecisionEngine;
  return { engine, asked };
}

const decision = (serviceId: string | undefined): Authenticated => ({
  outcome: "allowed",
  claims: {
    kind: "service_account",
    subjectId: "sa-1",
    sessionId: "",
    tokenId: "jti",
    clientId: "client",
    issuedAt: 1,
    expiresAt: 4_000_000_000,
  } as Authenticated["claims"],
  subject: {
    kind: "service_account",
    id: "sa-1",
    active: true,
    name: "client",
    grants: new Map(),
    user: undefined,
  },
  service:
    serviceId === undefined
      ? undefined
      : ({ id: serviceId, displayName: "Orders", status: "active" } as unknown as Authenticated["service"]),
  role: "viewer",
  reason: undefined,
});

describe("VerifyToken's remembered answers", () => {
  it("answers a repeated decision with the same object, and builds anew when the decision changes", async () => {
    const first = decision(SERVICE_ID);
    const second = decision(SERVICE_ID);
    const { engine } = engineAnswering([first, first, second]);
    const verify = createVerifyTokenHandler(engine);
    const request = create(VerifyTokenRequestSchema, { token: "t", serviceId: SERVICE_ID });
    const a = await verify(request);
    const b = await verify(request);
    const c = await verify(request);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(c).toEqual(a);
  });

  it("keeps apart answers to the same decision for requests naming the service differently", async () => {
    // A service the engine did not resolve: the answer echoes the request's service_id.
    const unresolved = decision(undefined);
    const { engine } = engineAnswering([unresolved]);
    const verify = createVerifyTokenHandler(engine);
    const byId = await verify(create(VerifyTokenRequestSchema, { token: "t", serviceId: SERVICE_ID }));
    const bySlug = await verify(create(VerifyTokenRequestSchema, { token: "t", serviceSlug: "orders" }));
    const tokenOnly = await verify(create(VerifyTokenRequestSchema, { token: "t" }));
    expect(byId.serviceAccess?.serviceId).toBe(SERVICE_ID);
    expect(bySlug.serviceAccess?.serviceId).toBe("");
    expect(tokenOnly.serviceAccess).toBeUndefined();
    expect(await verify(create(VerifyTokenRequestSchema, { token: "t", serviceId: SERVICE_ID }))).toEqual(
      byId,
    );
  });
});
