import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { newOpaqueToken } from "../opaque-token.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { CeremonyStore } from "../ports/ceremony-store.ts";
import type { PasskeyStore } from "../ports/passkey-store.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { WebAuthn } from "../ports/webauthn.ts";
import type { PrivilegeCeiling } from "../roles/privilege-ceiling.ts";
import type { User } from "../users/user.ts";
import type { UserRepository } from "../users/user-repository.ts";
import { requireUserPrincipal } from "../users/user-service.ts";
import { parseCredentialJson } from "./credential-json.ts";
import type { Passkey } from "./passkey.ts";
import { type CeremonyStart, newChallenge } from "./passkey-assertions.ts";
import { ceremonyNotFound, type PasskeySettings, requirePasskeysAvailable } from "./passkey-settings.ts";

export interface PasskeyServiceDeps {
  readonly settings: PasskeySettings;
  readonly passkeys: PasskeyStore;
  readonly ceremonies: CeremonyStore;
  readonly webauthn: WebAuthn;
  readonly users: Pick<UserRepository, "getUser">;
  readonly access: PermissionGuard;
  readonly ceiling: Pick<PrivilegeCeiling, "requireMayManage">;
  /** Re-checks the password before a sensitive change (AuthService: throttled like a sign-in). */
  readonly reauthentication: { recheckPassword(user: User, password: string, caller: Actor): Promise<void> };
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
  readonly now?: () => number;
}

const passkeyNotFound = () => new DomainError("not_found", "passkey_not_found", "no such passkey");

/**
 * Passkeys as the account page and the admin API see them: registering one
 * (a WebAuthn registration ceremony, attestation "none"), listing, renaming
 * and removing them. Removing the last second factor needs the password.
 */
export class PasskeyService {
  private readonly deps: PasskeyServiceDeps;
  private readonly now: () => number;

  constructor(deps: PasskeyServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  private async me(caller: Actor): Promise<User> {
    requirePasskeysAvailable(this.deps.settings);
    const user = await this.deps.users.getUser(requireUserPrincipal(caller));
    if (user === undefined) {
      throw new DomainError("unauthenticated", "unknown_subject", "the account no longer exists");
    }
    return user;
  }

  async beginRegistration(caller: Actor, input: { readonly name: string }): Promise<CeremonyStart> {
    const user = await this.me(caller);
    const { settings, passkeys, ceremonies, webauthn } = this.deps;
    const existing = await passkeys.listByUser(user.id);
    if (existing.length >= settings.maxPerUser) {
      throw new DomainError(
        "resource_exhausted",
        "too_many_passkeys",
        `an account may hold at most ${settings.maxPerUser} passkeys; remove one first`,
      );
    }
    const challenge = newChallenge();
    const options = await webauthn.registrationOptions({
      rp: settings.rp,
      challenge,
      user: {
        id: user.id,
        name: user.username,
        displayName: [user.firstName, user.lastName].filter((part) => part !== "").join(" ") || user.username,
      },
      exclude: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
      timeoutMs: settings.ceremonyTtlMs,
    });
    const ceremonyId = newOpaqueToken();
    const expiresAt = this.now() + settings.ceremonyTtlMs;
    await ceremonies.put(
      ceremonyId,
      {
        kind: "registration",
        challenge,
        userVerification: "preferred",
        expiresAt,
        userId: user.id,
        name: input.name,
      },
      settings.ceremonyTtlMs,
    );
    return { ceremonyId, optionsJson: JSON.stringify(options), expiresAt: new Date(expiresAt) };
  }

  finishRegistration(
    caller: Actor,
    input: { readonly ceremonyId: string; readonly credentialJson: string; readonly name: string },
  ): Promise<Passkey> {
    return this.deps.audit.track(
      { action: "passkey.register", actor: caller, targetKind: "user" },
      async (note) => {
        const user = await this.me(caller);
        note.target("user", user.id);
        const { settings, passkeys, ceremonies, webauthn } = this.deps;
        const response = parseCredentialJson(input.credentialJson);
        const ceremony = await ceremonies.take(input.ceremonyId);
        // Another user's ceremony is no ceremony of this caller's.
        if (ceremony === undefined || ceremony.kind !== "registration" || ceremony.userId !== user.id) {
          throw ceremonyNotFound();
        }
        const credential = await webauthn.verifyRegistration({
          rp: settings.rp,
          response,
          challenge: ceremony.challenge,
          requireUserVerification: false,
        });
        const count = await passkeys.countByUser(user.id);
        const name = input.name || ceremony.name || `Passkey ${count + 1}`;
        const passkey = await passkeys.create({ userId: user.id, ...credential, name });
        note.detail("passkey_id", passkey.id);
        note.detail("backup_eligible", String(passkey.backupEligible));
        note.detail("user_verified", String(passkey.userVerified));
        await this.deps.changes.subjectChanged(user.id);
        return passkey;
      },
    );
  }

  async list(caller: Actor): Promise<Passkey[]> {
    const user = await this.me(caller);
    return this.deps.passkeys.listByUser(user.id);
  }

  rename(caller: Actor, passkeyId: string, name: string): Promise<Passkey> {
    return this.deps.audit.track(
      { action: "passkey.rename", actor: caller, targetKind: "passkey", targetId: passkeyId },
      async () => {
        const user = await this.me(caller);
        const renamed = await this.deps.passkeys.rename(user.id, passkeyId, name);
        if (renamed === undefined) throw passkeyNotFound();
        return renamed;
      },
    );
  }

  /** The password is needed when this is the account's last second factor (no TOTP, no other passkey). */
  delete(caller: Actor, input: { readonly passkeyId: string; readonly password: string }): Promise<void> {
    return this.deps.audit.track(
      { action: "passkey.delete", actor: caller, targetKind: "passkey", targetId: input.passkeyId },
      async (note) => {
        const user = await this.me(caller);
        const own = await this.deps.passkeys.listByUser(user.id);
        if (!own.some((passkey) => passkey.id === input.passkeyId)) throw passkeyNotFound();
        if (own.length === 1 && !user.totpEnabled) {
          note.detail("last_second_factor", "true");
          if (input.password === "") {
            throw new DomainError(
              "unauthenticated",
              "reauthentication_required",
              "this is the account's last second factor: enter your password to remove it",
              {
                violations: [{ field: "password", description: "required to remove the last second factor" }],
              },
            );
          }
          await this.deps.reauthentication.recheckPassword(user, input.password, caller);
        }
        if (!(await this.deps.passkeys.delete(user.id, input.passkeyId))) throw passkeyNotFound();
        await this.deps.changes.subjectChanged(user.id);
      },
    );
  }

  // --- Administration ---

  private async managedUser(caller: Actor, userId: string, permission: string): Promise<User> {
    await this.deps.access.requirePermission(caller.principal, permission);
    requirePasskeysAvailable(this.deps.settings);
    const user = await this.deps.users.getUser(userId);
    if (user === undefined) throw new DomainError("not_found", "user_not_found", "no such user");
    return user;
  }

  async listForUser(caller: Actor, userId: string): Promise<Passkey[]> {
    const user = await this.managedUser(caller, userId, "users.read");
    return this.deps.passkeys.listByUser(user.id);
  }

  deleteForUser(caller: Actor, userId: string, passkeyId: string): Promise<void> {
    return this.deps.audit.track(
      {
        action: "passkey.admin_delete",
        actor: caller,
        targetKind: "user",
        targetId: userId,
        details: { passkey_id: passkeyId },
      },
      async () => {
        const user = await this.managedUser(caller, userId, "users.write");
        await this.deps.ceiling.requireMayManage(caller.principal, { kind: "user", id: user.id });
        if (!(await this.deps.passkeys.delete(user.id, passkeyId))) throw passkeyNotFound();
        await this.deps.changes.subjectChanged(user.id);
      },
    );
  }
}
