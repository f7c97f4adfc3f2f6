import { NetworkError } from "@keycloak/keycloak-admin-client";
import { describe, expect, it } from "vitest";
import { fromAdminError, isUnreachable } from "./keycloak-errors.ts";
import { refreshFailure } from "./keycloak-provider.ts";

const adminError = (status: number, data: unknown) =>
  new NetworkError("failed", { response: new Response(null, { status }), responseData: data });

describe("Keycloak failures as DomainErrors", () => {
  it("tells an unreachable Keycloak from a refusal", () => {
    const refused = Object.assign(new Error("connect"), { code: "ECONNREFUSED" });
    expect(isUnreachable(new TypeError("fetch failed", { cause: refused }))).toBe(true);
    expect(isUnreachable(new DOMException("timed out", "TimeoutError"))).toBe(true);
    expect(isUnreachable(adminError(503, {}))).toBe(true);
    expect(isUnreachable(adminError(409, {}))).toBe(false);
  });

  it("maps admin-API answers: clash, missing, read-only, bad input, server down", () => {
    expect(
      fromAdminError(adminError(409, { errorMessage: "User exists with same email" }), "create"),
    ).toMatchObject({
      kind: "already_exists",
      reason: "email_taken",
      violations: [{ field: "email" }],
    });
    expect(fromAdminError(adminError(404, {}), "read")).toMatchObject({ kind: "not_found" });
    expect(
      fromAdminError(
        adminError(400, { field: "username", errorMessage: "error-user-attribute-read-only" }),
        "update",
      ),
    ).toMatchObject({
      kind: "failed_precondition",
      reason: "field_read_only",
      violations: [{ field: "username" }],
    });
    expect(
      fromAdminError(adminError(400, { errorMessage: "invalidPasswordMinLengthMessage" }), "x"),
    ).toMatchObject({
      kind: "invalid_argument",
    });
    expect(fromAdminError(adminError(500, {}), "x")).toMatchObject({ kind: "unavailable" });
    expect(fromAdminError(adminError(403, {}), "x")).toMatchObject({ kind: "internal" });
  });

  it("maps Keycloak's refresh refusals to the contract's reasons", () => {
    expect(refreshFailure("Maximum allowed refresh token reuse exceeded")).toBe("refresh_token_reused");
    expect(refreshFailure("Session not active")).toBe("session_ended");
    expect(refreshFailure("Session doesn't have required client")).toBe("session_ended");
    expect(refreshFailure("Token is not active")).toBe("refresh_token_expired");
    expect(refreshFailure("Invalid refresh token")).toBe("invalid_refresh_token");
  });
});
