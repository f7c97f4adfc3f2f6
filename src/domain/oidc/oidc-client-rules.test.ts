import { describe, expect, it } from "vitest";
import { isDomainError } from "../errors.ts";
import type { OidcClientSettings } from "./oidc-client-repository.ts";
import { checkClientSettings, redirectUriProblem } from "./oidc-client-rules.ts";

const settings: OidcClientSettings = {
  name: "app",
  redirectUris: ["https://app.example/cb"],
  postLogoutRedirectUris: [],
  grantTypes: ["authorization_code", "refresh_token"],
  scopes: ["openid"],
  firstParty: false,
  backchannelLogoutUri: "",
  idTokenSigningAlg: "RS256",
  tokenEndpointAuthMethod: "none",
  jwks: "",
  disabled: false,
};

const violations = (type: "public" | "confidential", change: Partial<OidcClientSettings>): string[] => {
  try {
    checkClientSettings(type, { ...settings, ...change });
    return [];
  } catch (error) {
    if (!isDomainError(error)) throw error;
    return error.violations.map((violation) => violation.field);
  }
};

describe("OIDC client rules (the domain's own guard behind the proto's)", () => {
  it("accepts https and loopback http redirect URIs only, without fragments or credentials", () => {
    for (const uri of [
      "https://app.example/cb",
      "http://localhost:3000/cb",
      "http://127.0.0.1/cb",
      "http://[::1]:8/",
    ]) {
      expect(redirectUriProblem(uri), uri).toBeUndefined();
    }
    for (const uri of [
      "http://app.example/cb",
      "https://app.example/cb#x",
      "/cb",
      "custom:cb",
      "https://user:pw@app.example/cb",
      "http://localhost.evil.example/",
    ]) {
      expect(redirectUriProblem(uri), uri).toBeDefined();
    }
  });

  it("names each contradiction", () => {
    expect(violations("public", {})).toEqual([]);
    expect(violations("public", { tokenEndpointAuthMethod: "client_secret_basic" })).toEqual([
      "token_endpoint_auth_method",
    ]);
    expect(violations("confidential", {})).toEqual(["token_endpoint_auth_method"]);
    expect(violations("public", { redirectUris: [] })).toEqual(["redirect_uris"]);
    expect(violations("public", { redirectUris: ["http://evil.example/"] })).toEqual([
      "redirect_uris.uris[0]",
    ]);
    expect(violations("public", { grantTypes: ["refresh_token"], redirectUris: [] })).toEqual([
      "grant_types",
    ]);
    expect(violations("public", { scopes: ["offline_access"], grantTypes: ["authorization_code"] })).toEqual([
      "scopes",
    ]);
    expect(
      violations("confidential", { tokenEndpointAuthMethod: "private_key_jwt", jwks: '{"keys":[]}' }),
    ).toEqual(["jwks"]);
    expect(
      violations("confidential", {
        tokenEndpointAuthMethod: "client_secret_post",
        jwks: '{"keys":[{"kty":"EC"}]}',
      }),
    ).toEqual(["jwks"]);
    expect(violations("public", { backchannelLogoutUri: "ftp://rp.example/logout" })).toEqual([
      "backchannel_logout_uri",
    ]);
  });
});
