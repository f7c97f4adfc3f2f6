import KcAdminClient from "@keycloak/keycloak-admin-client";
import type UserRepresentation from "@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js";
import type UserSessionRepresentation from "@keycloak/keycloak-admin-client/lib/defs/userSessionRepresentation.js";
import { decodeJwt } from "jose";
import { DomainError } from "../../domain/errors.ts";
import type { IdentityFields } from "../../domain/ports/identity-provider.ts";
import type { RemoteAccess } from "../../domain/sync/role-mapping.ts";
import type { RemoteUser } from "../../domain/sync/sync-ports.ts";
import {
  type Attributes,
  mergeMetadataIntoAttributes,
  metadataFromAttributes,
} from "./keycloak-attributes.ts";
import { fromAdminError, isUnreachable, keycloakUnavailable, responseStatus } from "./keycloak-errors.ts";
import type { KeycloakConnection, KeycloakOidc } from "./keycloak-oidc.ts";

/** A Keycloak user as Gatehouse reads it: the sync's view plus the raw attributes. */
export interface KeycloakUser extends RemoteUser {
  readonly attributes: Attributes;
  readonly createdAt: Date;
}

export interface KeycloakSession {
  readonly id: string;
  readonly userId: string;
  readonly ipAddress: string;
  readonly startedAt: Date;
  readonly lastAccessAt: Date;
  /** OAuth client ids that hold tokens of the session. */
  readonly clients: readonly string[];
  /** An offline session (offline tokens); online and offline copies of one sign-in share the id. */
  readonly offline: boolean;
}

/** Required actions Gatehouse asks Keycloak to mail to a user. */
export type KeycloakAction = "UPDATE_PASSWORD" | "VERIFY_EMAIL" | "CONFIGURE_TOTP";

/** Renew the admin token this long before it expires. */
const TOKEN_RENEWAL_MARGIN_MS = 30_000;

/**
 * Keycloak's admin REST API through @keycloak/keycloak-admin-client, as
 * Gatehouse's service account (client credentials of the backend client,
 * holding realm-management manage-users / view-users / query-users). A
 * client-credentials login has no refresh token, so the token provider logs
 * in again shortly before the token expires (one login at a time).
 *
 * Every failure is a DomainError: unavailable when Keycloak cannot be
 * reached, already_exists / not_found / invalid_argument for what Keycloak
 * rejects.
 */
export class KeycloakAdmin {
  private readonly client: KcAdminClient;
  private readonly oidc: KeycloakOidc;
  /** Gatehouse's own client, whose offline tokens revokeOfflineTokens ends. */
  private readonly clientId: string;
  private readonly connection: KeycloakConnection;
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;
  /** Client id → Keycloak's internal id (clients are not renamed under Gatehouse's feet). */
  private readonly clientUuids = new Map<string, string>();

  constructor(connection: KeycloakConnection, oidc: KeycloakOidc, now: () => number = Date.now) {
    this.oidc = oidc;
    this.clientId = connection.clientId;
    this.connection = connection;
    this.now = now;
    this.client = new KcAdminClient({
      baseUrl: connection.url,
      realmName: connection.realm,
      timeout: connection.timeoutMs,
    });
    this.client.registerTokenProvider({ getAccessToken: () => this.accessToken() });
  }

  private async accessToken(): Promise<string> {
    if (this.token !== undefined && this.token.expiresAt - TOKEN_RENEWAL_MARGIN_MS > this.now())
      return this.token.value;
    this.pendingToken ??= (async () => {
      try {
        const tokens = await this.oidc.clientCredentialsGrant();
        this.token = { value: tokens.accessToken, expiresAt: tokens.accessTokenExpiresAt };
        return tokens.accessToken;
      } finally {
        this.pendingToken = undefined;
      }
    })();
    return this.pendingToken;
  }

  /** Runs an admin call, turning its failures into DomainErrors. */
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    const operation = () => this.oidc.span(`admin: ${what}`, request);
    try {
      return await operation();
    } catch (error) {
      // A token revoked or expired early (e.g. Keycloak restarted): log in again once.
      if (responseStatus(error) === 401 && this.token !== undefined) {
        this.token = undefined;
        try {
          return await operation();
        } catch (retryError) {
          throw fromAdminError(retryError, what);
        }
      }
      throw fromAdminError(error, what);
    }
  }

  /** The Keycloak user id of Gatehouse's own service account (the `sub` of its admin token). */
  async serviceAccountUserId(): Promise<string> {
    const sub = decodeJwt(await this.accessToken()).sub;
    return typeof sub === "string" ? sub : "";
  }

  /**
   * A JSON GET under the realm's admin API (paths the admin client does not
   * cover with every query parameter, e.g. events with `direction`).
   */
  async getJson<T>(path: string, query: URLSearchParams, what: string): Promise<T> {
    const url = `${this.connection.url}/admin/realms/${encodeURIComponent(this.connection.realm)}/${path}?${query}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const authorization = `Bearer ${await this.accessToken()}`;
        response = await this.oidc.span(`admin: ${what}`, () =>
          fetch(url, {
            headers: { authorization, accept: "application/json" },
            signal: AbortSignal.timeout(this.connection.timeoutMs),
          }),
        );
      } catch (error) {
        if (error instanceof DomainError) throw error;
        if (isUnreachable(error) || (error instanceof Error && error.name === "TimeoutError"))
          throw keycloakUnavailable(error);
        throw new DomainError("internal", "identity_provider_error", `Keycloak: could not ${what}`, {
          cause: error,
        });
      }
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        this.token = undefined;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        if (response.status >= 500)
          throw keycloakUnavailable(new Error(`${what}: Keycloak answered ${response.status}`));
        throw new DomainError("internal", "identity_provider_error", `Keycloak: could not ${what}`, {
          cause: new Error(`HTTP ${response.status}`),
        });
      }
      return (await response.json()) as T;
    }
  }

  /**
   * The user's group paths and effective realm roles (composites and those of
   * their groups included), for KEYCLOAK_ROLE_MAPPING; needs view-users.
   */
  async accessOf(id: string): Promise<RemoteAccess> {
    const query = new URLSearchParams({ briefRepresentation: "true", first: "0", max: "1000" });
    const [groups, roles] = await Promise.all([
      this.getJson<Array<{ path?: string }>>(
        `users/${encodeURIComponent(id)}/groups`,
        query,
        "read the user's groups",
      ),
      this.getJson<Array<{ name?: string }>>(
        `users/${encodeURIComponent(id)}/role-mappings/realm/composite`,
        new URLSearchParams({ briefRepresentation: "true" }),
        "read the user's realm roles",
      ),
    ]);
    return {
      groups: groups.map((group) => group.path ?? "").filter((path) => path !== ""),
      realmRoles: roles.map((role) => role.name ?? "").filter((name) => name !== ""),
    };
  }

  async getUser(id: string): Promise<KeycloakUser | undefined> {
    const user = await this.call("read the user", () =>
      this.client.users.findOne({ id }, { catchNotFound: true }),
    );
    return user === undefined || user === null ? undefined : toKeycloakUser(user);
  }

  /** The user with exactly this username (Keycloak stores usernames in lower case). */
  async findByUsername(username: string): Promise<KeycloakUser | undefined> {
    const users = await this.call("find the user", () => this.client.users.find({ username, exact: true }));
    return users.map(toKeycloakUser).find((user) => user.username === username.toLowerCase());
  }

  async findByEmail(email: string): Promise<KeycloakUser | undefined> {
    const users = await this.call("find the user", () => this.client.users.find({ email, exact: true }));
    return users.map(toKeycloakUser).find((user) => user.email.toLowerCase() === email.toLowerCase());
  }

  /** One page of the realm's users, in Keycloak's order (Keycloak leaves service-account users out). */
  async listUsers(first: number, max: number): Promise<KeycloakUser[]> {
    const users = await this.call("list users", () =>
      this.client.users.find({ first, max, briefRepresentation: false }),
    );
    return users.map(toKeycloakUser);
  }

  /** How many users the realm has (Keycloak's count leaves service-account users out, like listUsers). */
  async countUsers(): Promise<number> {
    return this.call("count users", () => this.client.users.count());
  }

  /** Creates the user; returns Keycloak's id. Throws already_exists on a username or email clash. */
  async createUser(user: IdentityFields): Promise<string> {
    const created = await this.call("create the user", () =>
      this.client.users.create({
        username: user.username,
        email: user.email,
        emailVerified: user.emailVerified,
        firstName: user.firstName,
        lastName: user.lastName,
        enabled: user.enabled,
        attributes: mergeMetadataIntoAttributes({}, user.metadata ?? {}),
      }),
    );
    return created.id;
  }

  /**
   * Changes a user. Keycloak's PUT replaces the whole representation (a PUT
   * with only attributes wipes email and names), so the user is read, the
   * changes merged in, and the whole representation sent back.
   */
  async updateUser(id: string, changes: Partial<IdentityFields>): Promise<KeycloakUser> {
    const current = await this.call("read the user", () => this.client.users.findOne({ id }));
    if (current === undefined || current === null) {
      throw new DomainError("not_found", "keycloak_user_not_found", "the user does not exist in Keycloak");
    }
    const next: UserRepresentation = {
      ...current,
      username: changes.username ?? current.username,
      email: changes.email ?? current.email,
      emailVerified: changes.emailVerified ?? current.emailVerified,
      firstName: changes.firstName ?? current.firstName,
      lastName: changes.lastName ?? current.lastName,
      enabled: changes.enabled ?? current.enabled,
      attributes:
        changes.metadata === undefined
          ? current.attributes
          : mergeMetadataIntoAttributes(current.attributes, changes.metadata),
    };
    // Read-only parts of the representation that PUT must not carry.
    delete next.access;
    delete next.userProfileMetadata;
    await this.call("update the user", () => this.client.users.update({ id }, next));
    return toKeycloakUser(next);
  }

  /** Deletes the user; a user already gone counts as deleted. */
  async deleteUser(id: string): Promise<void> {
    await this.call("delete the user", () => this.client.users.del({ id }, { catchNotFound: true }));
  }

  async setPassword(id: string, password: string): Promise<void> {
    await this.call("set the password", () =>
      this.client.users.resetPassword({
        id,
        credential: { type: "password", value: password, temporary: false },
      }),
    );
  }

  /** Mails the user a link to perform the actions (Keycloak's own email, through the realm's SMTP server). */
  async executeActionsEmail(
    id: string,
    actions: readonly KeycloakAction[],
    lifespanSeconds?: number,
  ): Promise<void> {
    await this.call("send the email", () =>
      this.client.users.executeActionsEmail({
        id,
        actions: [...actions],
        ...(lifespanSeconds === undefined ? {} : { lifespan: lifespanSeconds }),
      }),
    );
  }

  /** Removes every OTP credential of the user; returns how many there were. */
  async removeOtpCredentials(id: string): Promise<number> {
    const credentials = await this.call("read the credentials", () =>
      this.client.users.getCredentials({ id }),
    );
    const otp = credentials.filter((credential) => credential.type === "otp" && credential.id !== undefined);
    for (const credential of otp) {
      await this.call("remove the OTP credential", () =>
        this.client.users.deleteCredential({ id, credentialId: credential.id! }, { catchNotFound: true }),
      );
    }
    return otp.length;
  }

  /** The user's online sessions, of every client. */
  async sessions(userId: string): Promise<KeycloakSession[]> {
    const sessions = await this.call("list the sessions", () =>
      this.client.users.listSessions({ id: userId }, { catchNotFound: true }),
    );
    return (sessions ?? []).map((session) => toKeycloakSession(session, userId, false));
  }

  /**
   * The user's offline sessions of one client (by client id). Keycloak lists
   * them per client only, by its internal id (looked up once, needs
   * realm-management view-clients); a client that does not exist has none.
   */
  async offlineSessions(userId: string, clientId: string): Promise<KeycloakSession[]> {
    const uuid = await this.clientUuid(clientId);
    if (uuid === undefined) return [];
    const sessions = await this.call("list the offline sessions", () =>
      this.client.users.listOfflineSessions({ id: userId, clientId: uuid }, { catchNotFound: true }),
    );
    return (sessions ?? []).map((session) => toKeycloakSession(session, userId, true));
  }

  private async clientUuid(clientId: string): Promise<string | undefined> {
    const known = this.clientUuids.get(clientId);
    if (known !== undefined) return known;
    const clients = await this.getJson<Array<{ id?: string; clientId?: string }>>(
      "clients",
      new URLSearchParams({ clientId, first: "0", max: "2" }),
      "look up the client",
    );
    const uuid = clients.find((client) => client.clientId === clientId)?.id;
    if (uuid !== undefined) this.clientUuids.set(clientId, uuid);
    return uuid;
  }

  /** Ends one session (its offline copy with `offline`); false when Keycloak has no such session. */
  async deleteSession(sessionId: string, { offline = false }: { offline?: boolean } = {}): Promise<boolean> {
    try {
      await this.call("end the session", () =>
        this.client.realms.deleteSession({
          realm: this.client.realmName,
          session: sessionId,
          isOffline: offline,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.kind === "not_found") return false;
      throw error;
    }
  }

  /**
   * Ends every online session of the user. Keycloak also sets the user's
   * not-before, which makes their earlier tokens stale, offline ones included,
   * but only those issued in an earlier second.
   */
  async logoutUser(userId: string): Promise<void> {
    await this.call("end the user's sessions", () =>
      this.client.users.logout({ id: userId }, { catchNotFound: true }),
    );
  }

  /**
   * Revokes the user's offline tokens of Gatehouse's client (the ones the token
   * vault holds): Keycloak's revocation of the client's consent, which ends its
   * offline sessions too. Nothing to revoke is not an error.
   */
  async revokeOfflineTokens(userId: string): Promise<void> {
    await this.call("revoke the user's offline tokens", () =>
      this.client.users.revokeConsent({ id: userId, clientId: this.clientId }, { catchNotFound: true }),
    );
  }
}

function toKeycloakSession(
  session: UserSessionRepresentation,
  userId: string,
  offline: boolean,
): KeycloakSession {
  return {
    id: session.id ?? "",
    userId: session.userId ?? userId,
    ipAddress: session.ipAddress ?? "",
    startedAt: new Date(session.start ?? 0),
    lastAccessAt: new Date(session.lastAccess ?? session.start ?? 0),
    clients: Object.values(session.clients ?? {}),
    offline,
  };
}

function toKeycloakUser(user: UserRepresentation): KeycloakUser {
  const attributes: Attributes = {};
  for (const [name, value] of Object.entries(user.attributes ?? {})) {
    if (Array.isArray(value)) attributes[name] = value.filter((v): v is string => typeof v === "string");
    else if (typeof value === "string") attributes[name] = [value];
  }
  return {
    externalId: user.id ?? "",
    username: user.username ?? "",
    email: user.email ?? "",
    emailVerified: user.emailVerified ?? false,
    firstName: user.firstName ?? "",
    lastName: user.lastName ?? "",
    enabled: user.enabled ?? false,
    mfaEnabled: user.totp ?? false,
    metadata: metadataFromAttributes(attributes),
    attributes,
    createdAt: new Date(user.createdTimestamp ?? 0),
  };
}
