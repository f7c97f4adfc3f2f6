import { randomBytes } from "node:crypto";
import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { hashOpaqueToken, newOpaqueToken } from "../opaque-token.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import { CONSOLE_CLIENT_ID } from "./console-client.ts";
import type { OidcClient } from "./oidc-client.ts";
import type { OidcClientRepository, OidcClientSettings } from "./oidc-client-repository.ts";
import { checkClientSettings, usesSecret } from "./oidc-client-rules.ts";

export type OidcClientChanges = Partial<OidcClientSettings>;

export interface CreateOidcClientInput extends Partial<OidcClientSettings> {
  /** Empty: one is generated. */
  readonly clientId: string;
  readonly name: string;
  readonly type: OidcClient["type"];
}

const notFound = () => new DomainError("not_found", "oidc_client_not_found", "no such OIDC client");

/** What a new client gets for what the request leaves out. */
function withDefaults(input: CreateOidcClientInput): OidcClientSettings {
  return {
    name: input.name,
    redirectUris: input.redirectUris ?? [],
    postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
    grantTypes:
      input.grantTypes === undefined || input.grantTypes.length === 0
        ? ["authorization_code", "refresh_token"]
        : input.grantTypes,
    scopes:
      input.scopes === undefined || input.scopes.length === 0 ? ["openid", "profile", "email"] : input.scopes,
    firstParty: input.firstParty ?? false,
    backchannelLogoutUri: input.backchannelLogoutUri ?? "",
    idTokenSigningAlg: input.idTokenSigningAlg ?? "RS256",
    tokenEndpointAuthMethod:
      input.tokenEndpointAuthMethod ?? (input.type === "public" ? "none" : "client_secret_basic"),
    jwks: input.jwks ?? "",
    disabled: input.disabled ?? false,
  };
}

const settingsOf = (client: OidcClient): OidcClientSettings => ({
  name: client.name,
  redirectUris: client.redirectUris,
  postLogoutRedirectUris: client.postLogoutRedirectUris,
  grantTypes: client.grantTypes,
  scopes: client.scopes,
  firstParty: client.firstParty,
  backchannelLogoutUri: client.backchannelLogoutUri,
  idTokenSigningAlg: client.idTokenSigningAlg,
  tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
  jwks: client.jwks,
  disabled: client.disabled,
});

/**
 * The administration of OIDC clients (relying parties of the built-in
 * OpenID Provider): permission checks (`clients.read` / `clients.write`),
 * the settings' rules, the secret (returned once, stored as its SHA-256 like
 * service-account secrets) and the audit log. A client holds no grants, so
 * there is no privilege ceiling beyond the permission.
 */
export class OidcClientRegistry {
  private readonly repository: OidcClientRepository;
  private readonly access: PermissionGuard;
  private readonly audit: Pick<AuditLog, "record">;

  constructor(deps: {
    repository: OidcClientRepository;
    access: PermissionGuard;
    audit: Pick<AuditLog, "record">;
  }) {
    this.repository = deps.repository;
    this.access = deps.access;
    this.audit = deps.audit;
  }

  private record(actor: Actor, action: string, id: string, details?: Record<string, string>): Promise<void> {
    return this.audit.record({
      action: `oidc_clients.${action}`,
      result: "success",
      actor,
      targetKind: "oidc_client",
      targetId: id,
      details,
    });
  }

  /** The client and, for one authenticating with a secret, the secret: never available again. */
  async create(
    actor: Actor,
    input: CreateOidcClientInput,
  ): Promise<{ client: OidcClient; clientSecret: string }> {
    await this.access.requirePermission(actor.principal, "clients.write");
    const settings = withDefaults(input);
    checkClientSettings(input.type, settings);
    const clientSecret = usesSecret(settings.tokenEndpointAuthMethod) ? newOpaqueToken() : "";
    const client = await this.repository.create({
      ...settings,
      clientId: input.clientId === "" ? randomBytes(12).toString("hex") : input.clientId,
      type: input.type,
      secretHash: clientSecret === "" ? undefined : hashOpaqueToken(clientSecret),
    });
    await this.record(actor, "create", client.id, { client_id: client.clientId });
    return { client, clientSecret };
  }

  async get(actor: Actor, key: { id: string } | { clientId: string }): Promise<OidcClient> {
    await this.access.requirePermission(actor.principal, "clients.read");
    const client =
      "id" in key
        ? await this.repository.get(key.id)
        : (await this.repository.findByClientId(key.clientId))?.client;
    if (client === undefined) throw notFound();
    return client;
  }

  async list(actor: Actor, query: { pageSize: number; pageToken: string }): Promise<Page<OidcClient>> {
    await this.access.requirePermission(actor.principal, "clients.read");
    return this.repository.list({ pageSize: pageSize(query.pageSize), pageToken: query.pageToken });
  }

  /**
   * Merges the changes and checks the whole. Moving to a method without a
   * secret drops the secret; moving to a secret method leaves the client
   * without one until RotateOidcClientSecret issues it.
   */
  async update(actor: Actor, id: string, changes: OidcClientChanges): Promise<OidcClient> {
    await this.access.requirePermission(actor.principal, "clients.write");
    const current = await this.repository.get(id);
    if (current === undefined) throw notFound();
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    const settings: OidcClientSettings = { ...settingsOf(current), ...defined };
    checkClientSettings(current.type, settings);
    let client = await this.repository.update(id, settings);
    if (client === undefined) throw notFound();
    if (!usesSecret(settings.tokenEndpointAuthMethod) && current.secretRotatedAt !== undefined) {
      client = (await this.repository.setSecretHash(id, undefined)) ?? client;
    }
    await this.record(actor, "update", id, { fields: Object.keys(defined).sort().join(",") });
    return client;
  }

  /** A new secret; the old one fails from this call on (the hash is replaced in one statement). */
  async rotateSecret(actor: Actor, id: string): Promise<string> {
    await this.access.requirePermission(actor.principal, "clients.write");
    const current = await this.repository.get(id);
    if (current === undefined) throw notFound();
    if (!usesSecret(current.tokenEndpointAuthMethod)) {
      throw new DomainError(
        "failed_precondition",
        "client_has_no_secret",
        "only a confidential client authenticating with client_secret_basic or client_secret_post has a secret",
      );
    }
    const clientSecret = newOpaqueToken();
    if ((await this.repository.setSecretHash(id, hashOpaqueToken(clientSecret))) === undefined)
      throw notFound();
    await this.record(actor, "rotate_secret", id);
    return clientSecret;
  }

  /** Idempotent. */
  async delete(actor: Actor, id: string): Promise<void> {
    await this.access.requirePermission(actor.principal, "clients.write");
    const current = await this.repository.get(id);
    if (current === undefined) return;
    if (current.clientId === CONSOLE_CLIENT_ID) {
      throw new DomainError(
        "failed_precondition",
        "managed_client",
        "the console's client is registered by Gatehouse itself and cannot be deleted (disable it instead)",
      );
    }
    if (await this.repository.delete(id))
      await this.record(actor, "delete", id, { client_id: current.clientId });
  }
}
