import { describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import type { Principal } from "../principal.ts";
import { AccessControl, type SecondFactorPolicy } from "./access-control.ts";

const principal = (sessionId: string, kind: Principal["kind"] = "user"): Principal => ({
  kind,
  subjectId: "user-1",
  sessionId,
  tokenId: "t",
  expiresAt: Date.now() + 60_000,
  clientId: "gatehouse",
});

describe("AccessControl's ADMIN_SECOND_FACTOR", () => {
  const sessions: Record<string, readonly string[]> = {
    password: ["pwd"],
    totp: ["pwd", "otp"],
    recovery: ["pwd", "mfa"],
    passkeyMfa: ["pwd", "hwk", "mfa"],
    passwordless: ["swk", "user"],
  };

  function access(policy: SecondFactorPolicy) {
    const roles = { permissionsOfUser: async () => new Set(["users.read"]) };
    return new AccessControl(roles, {
      policy,
      sessionMethods: async (sessionId) => sessions[sessionId],
    });
  }

  const outcome = async (policy: SecondFactorPolicy, sessionId: string) => {
    try {
      await access(policy).requirePermission(principal(sessionId), "users.read");
      return "allowed";
    } catch (error) {
      return (error as { reason: string }).reason;
    }
  };

  it.each([
    ["off", { password: "allowed", totp: "allowed", passwordless: "allowed", unknown: "allowed" }],
    [
      "any",
      {
        password: "second_factor_required",
        totp: "allowed",
        recovery: "allowed",
        passkeyMfa: "allowed",
        passwordless: "allowed",
        unknown: "second_factor_required",
      },
    ],
    [
      "passkey",
      {
        password: "second_factor_required",
        totp: "second_factor_required",
        recovery: "second_factor_required",
        passkeyMfa: "allowed",
        passwordless: "allowed",
      },
    ],
  ] as const)("policy %s", async (policy, expected) => {
    for (const [sessionId, answer] of Object.entries(expected)) {
      expect([sessionId, await outcome(policy, sessionId)]).toEqual([sessionId, answer]);
    }
  });

  it("says what is missing, and still answers missing_permission first", async () => {
    const failure = await domainFailure(access("passkey").requirePermission(principal("totp"), "users.read"));
    expect(failure).toMatchObject({ kind: "permission_denied", metadata: { required: "passkey" } });
    const roles = { permissionsOfUser: async () => new Set<string>() };
    const none = new AccessControl(roles, { policy: "any", sessionMethods: async () => ["pwd"] });
    expect((await domainFailure(none.requirePermission(principal("password"), "users.read"))).reason).toBe(
      "missing_permission",
    );
  });
});
