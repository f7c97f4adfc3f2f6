import { beforeEach, describe, expect, it, vi } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld, TEST_PASSWORD } from "../../../test/support/fakes/identity-world.ts";
import { MemoryPasskeyStore } from "../../../test/support/fakes/memory-passkey-store.ts";
import { SoftwareAuthenticator } from "../../../test/support/software-authenticator.ts";
import { CoordinationCeremonyStore } from "../../cache/coordination-ceremony-store.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { SimpleWebAuthn } from "../../identity/webauthn/simple-webauthn.ts";
import type { Actor } from "../actor.ts";
import { DomainError } from "../errors.ts";
import { hashOpaqueToken } from "../opaque-token.ts";
import { ADMIN_ROLE } from "../roles/permissions.ts";
import type { User } from "../users/user.ts";
import { PasskeyAssertions } from "./passkey-assertions.ts";
import { PasskeyService } from "./passkey-service.ts";
import type { PasskeySettings } from "./passkey-settings.ts";

const ORIGIN = "https://id.example.test";
const TTL_MS = 300_000;

describe("passkey ceremonies (real WebAuthn verification, in-memory stores)", () => {
  let world: IdentityWorld;
  let clock: number;
  let passkeys: MemoryPasskeyStore;
  let assertions: PasskeyAssertions;
  let service: PasskeyService;
  let user: User;
  let authenticator: SoftwareAuthenticator;
  let coordination: MemoryCoordinationStore;

  const settings = (availability: PasskeySettings["availability"] = "enabled"): PasskeySettings => ({
    availability,
    rp: { id: "id.example.test", name: "Example", origins: [ORIGIN] },
    ceremonyTtlMs: TTL_MS,
    maxPerUser: 3,
  });

  function build(availability: PasskeySettings["availability"] = "enabled") {
    const now = () => clock;
    coordination = new MemoryCoordinationStore(now);
    const ceremonies = new CoordinationCeremonyStore(coordination, now);
    const webauthn = new SimpleWebAuthn();
    assertions = new PasskeyAssertions({
      settings: settings(availability),
      passkeys,
      ceremonies,
      webauthn,
      now,
    });
    service = new PasskeyService({
      settings: settings(availability),
      passkeys,
      ceremonies,
      webauthn,
      users: world.users,
      access: world.access,
      ceiling: world.ceiling,
      // The real check is AuthService.recheckPassword (throttled, over the provider): tested over the wire.
      reauthentication: {
        async recheckPassword(_user, password) {
          if (password !== TEST_PASSWORD)
            throw new DomainError("unauthenticated", "invalid_credentials", "no");
        },
      },
      audit: world.audit,
      changes: world.changes,
      now,
    });
  }

  beforeEach(async () => {
    world = new IdentityWorld();
    clock = Date.parse("2026-12-01T12:00:00Z");
    passkeys = new MemoryPasskeyStore();
    build();
    user = await world.person();
    authenticator = new SoftwareAuthenticator({ origin: ORIGIN });
  });

  const as = (someone: User): Actor => world.caller(someone);

  async function registered(owner = user, device = authenticator) {
    const begun = await service.beginRegistration(as(owner), { name: "" });
    const { credentialJson } = device.register(begun.optionsJson);
    return service.finishRegistration(as(owner), { ceremonyId: begun.ceremonyId, credentialJson, name: "" });
  }

  describe("registration", () => {
    it("offers options for this RP: attestation none, the user's credentials excluded, the ceremony's timeout", async () => {
      const first = await registered();
      const begun = await service.beginRegistration(as(user), { name: "Phone" });
      const options = JSON.parse(begun.optionsJson);
      expect(options).toMatchObject({
        rp: { id: "id.example.test", name: "Example" },
        user: { id: Buffer.from(user.id).toString("base64url"), name: user.username },
        attestation: "none",
        timeout: TTL_MS,
        authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
      });
      expect(options.excludeCredentials.map((credential: { id: string }) => credential.id)).toEqual([
        first.credentialId,
      ]);
      expect(begun.expiresAt.getTime()).toBe(clock + TTL_MS);
      expect(options.challenge).not.toBe(
        JSON.parse((await service.beginRegistration(as(user), { name: "" })).optionsJson).challenge,
      );
    });

    it("stores the credential: its key, counter, backup state, a default name; audited without secrets", async () => {
      const synced = new SoftwareAuthenticator({ origin: ORIGIN, backupEligible: true, backedUp: true });
      const passkey = await registered(user, synced);
      expect(passkey).toMatchObject({
        userId: user.id,
        name: "Passkey 1",
        signCount: 0,
        backupEligible: true,
        backedUp: true,
        userVerified: true,
        aaguid: "00000000-0000-0000-0000-000000000000",
        transports: ["internal", "hybrid"],
      });
      expect(passkey.credentialId).toBe([...synced.credentials.keys()][0]);
      const [event] = world.auditEvents.of("passkey.register");
      expect(event).toMatchObject({
        result: "success",
        targetId: user.id,
        details: { passkey_id: passkey.id },
      });
      expect(JSON.stringify(event)).not.toContain(passkey.credentialId);
    });

    it("refuses a wrong origin, a wrong RP id, and another challenge", async () => {
      for (const knobs of [
        { origin: "https://evil.example.test" },
        { rpId: "evil.example.test" },
        { challenge: Buffer.from("another challenge").toString("base64url") },
      ]) {
        const begun = await service.beginRegistration(as(user), { name: "" });
        const { credentialJson } = authenticator.register(begun.optionsJson, knobs);
        const failure = await domainFailure(
          service.finishRegistration(as(user), { ceremonyId: begun.ceremonyId, credentialJson, name: "" }),
        );
        expect({ kind: failure.kind, reason: failure.reason }).toEqual({
          kind: "invalid_argument",
          reason: "passkey_verification_failed",
        });
        expect(failure.message).not.toContain("evil");
      }
      expect(passkeys.rows.size).toBe(0);
    });

    it("is single use and bound to the user who began it; expires with its TTL", async () => {
      const begun = await service.beginRegistration(as(user), { name: "" });
      const { credentialJson } = authenticator.register(begun.optionsJson);
      const stranger = await world.person();
      expect(
        (
          await domainFailure(
            service.finishRegistration(as(stranger), {
              ceremonyId: begun.ceremonyId,
              credentialJson,
              name: "",
            }),
          )
        ).reason,
      ).toBe("ceremony_not_found");
      // The stranger's attempt used it up too.
      expect(
        (
          await domainFailure(
            service.finishRegistration(as(user), { ceremonyId: begun.ceremonyId, credentialJson, name: "" }),
          )
        ).reason,
      ).toBe("ceremony_not_found");

      const late = await service.beginRegistration(as(user), { name: "" });
      const answer = authenticator.register(late.optionsJson).credentialJson;
      clock += TTL_MS + 1;
      expect(
        (
          await domainFailure(
            service.finishRegistration(as(user), {
              ceremonyId: late.ceremonyId,
              credentialJson: answer,
              name: "",
            }),
          )
        ).reason,
      ).toBe("ceremony_not_found");
    });

    it("caps the passkeys of one account", async () => {
      for (let index = 0; index < 3; index++)
        await registered(user, new SoftwareAuthenticator({ origin: ORIGIN }));
      expect((await domainFailure(service.beginRegistration(as(user), { name: "" }))).reason).toBe(
        "too_many_passkeys",
      );
    });
  });

  describe("sign-in", () => {
    const finish = async (begun: { ceremonyId: string }, credentialJson: string) =>
      assertions.finish(begun.ceremonyId, credentialJson);

    it("passwordless: discoverable credentials (allowCredentials empty), user verification required", async () => {
      const begun = await assertions.begin(undefined);
      expect(JSON.parse(begun.optionsJson)).toMatchObject({
        rpId: "id.example.test",
        allowCredentials: [],
        userVerification: "required",
        timeout: TTL_MS,
      });
    });

    it("as the MFA step: the user's own credentials allowed, user verification preferred", async () => {
      const passkey = await registered();
      await registered(await world.person(), new SoftwareAuthenticator({ origin: ORIGIN }));
      const begun = await assertions.begin({ token: "mfa-token", userId: user.id });
      const options = JSON.parse(begun.optionsJson);
      expect(options.allowCredentials.map((credential: { id: string }) => credential.id)).toEqual([
        passkey.credentialId,
      ]);
      expect(options.userVerification).toBe("preferred");
      const stranger = await world.person();
      expect((await domainFailure(assertions.begin({ token: "t", userId: stranger.id }))).reason).toBe(
        "no_passkeys",
      );
    });

    it("verifies an assertion and records the counter and last use", async () => {
      const passkey = await registered();
      const begun = await assertions.begin(undefined);
      const result = await finish(begun, authenticator.assert(begun.optionsJson));
      expect(result).toMatchObject({
        passkey: { id: passkey.id },
        userVerified: true,
        mfaTokenHash: undefined,
      });
      expect(passkeys.rows.get(passkey.id)).toMatchObject({ signCount: 1, lastUsedAt: expect.any(Date) });
    });

    it("refuses a wrong origin, a wrong RP id, another ceremony's challenge, and a replay", async () => {
      await registered();
      for (const knobs of [
        { origin: "https://evil.example.test" },
        { rpId: "evil.example.test" },
        { challenge: JSON.parse((await assertions.begin(undefined)).optionsJson).challenge },
        { type: "webauthn.create" },
      ]) {
        const begun = await assertions.begin(undefined);
        const failure = await domainFailure(finish(begun, authenticator.assert(begun.optionsJson, knobs)));
        expect({ kind: failure.kind, reason: failure.reason }).toEqual({
          kind: "unauthenticated",
          reason: "passkey_verification_failed",
        });
      }
      const begun = await assertions.begin(undefined);
      const answer = authenticator.assert(begun.optionsJson);
      await finish(begun, answer);
      expect((await domainFailure(finish(begun, answer))).reason).toBe("ceremony_not_found");
    });

    it("requires user verification without a password, not as the MFA step", async () => {
      await registered();
      const passwordless = await assertions.begin(undefined);
      expect(
        (
          await domainFailure(
            finish(passwordless, authenticator.assert(passwordless.optionsJson, { userVerified: false })),
          )
        ).reason,
      ).toBe("passkey_verification_failed");
      const mfa = await assertions.begin({ token: "mfa-token", userId: user.id });
      const result = await finish(mfa, authenticator.assert(mfa.optionsJson, { userVerified: false }));
      expect(result).toMatchObject({ userVerified: false, mfaTokenHash: hashOpaqueToken("mfa-token") });
    });

    it("refuses an MFA ceremony stored without its challenge's hash rather than take it for passwordless", async () => {
      await registered();
      const begun = await assertions.begin({ token: "mfa-token", userId: user.id });
      const key = `passkey:ceremony:${hashOpaqueToken(begun.ceremonyId)}`;
      const { mfaTokenHash: _hash, ...legacy } = JSON.parse((await coordination.get(key))!);
      await coordination.set(key, JSON.stringify({ ...legacy, mfaToken: "mfa-token" }), TTL_MS);
      const answer = authenticator.assert(begun.optionsJson, { userVerified: false });
      expect((await domainFailure(finish(begun, answer))).reason).toBe("ceremony_not_found");
    });

    it("keeps the MFA token out of the shared store: the ceremony holds its hash", async () => {
      await registered();
      const written = vi.spyOn(coordination, "set");
      await assertions.begin({ token: "mfa-token-a1b2c3", userId: user.id });
      expect(written).toHaveBeenCalled();
      expect(JSON.stringify(written.mock.calls)).not.toContain("mfa-token-a1b2c3");
    });

    it("refuses a signature counter that did not go up (a clone), and leaves the passkey as it was", async () => {
      const passkey = await registered();
      const clone = authenticator.clone();
      const first = await assertions.begin(undefined);
      await finish(first, authenticator.assert(first.optionsJson));
      const stored = passkeys.rows.get(passkey.id)!;
      for (const answer of [
        (options: string) => clone.assert(options),
        (options: string) => authenticator.assert(options, { counter: 1 }),
      ]) {
        const begun = await assertions.begin(undefined);
        const failure = await domainFailure(finish(begun, answer(begun.optionsJson)));
        expect({ kind: failure.kind, reason: failure.reason }).toEqual({
          kind: "unauthenticated",
          reason: "counter_regressed",
        });
        expect(passkeys.rows.get(passkey.id)).toEqual(stored);
      }
    });

    it("accepts authenticators that keep no counter (always 0)", async () => {
      const counterless = new SoftwareAuthenticator({ origin: ORIGIN, counterStep: 0 });
      await registered(user, counterless);
      for (let round = 0; round < 2; round++) {
        const begun = await assertions.begin(undefined);
        await finish(begun, counterless.assert(begun.optionsJson));
      }
    });

    it("refuses an unknown credential, another user's credential for an MFA step, and an expired ceremony", async () => {
      await registered();
      const unknown = new SoftwareAuthenticator({ origin: ORIGIN });
      unknown.register(
        JSON.stringify({ challenge: "AAAA", rp: { id: "id.example.test" }, user: { id: "eA" } }),
      );
      const begun = await assertions.begin(undefined);
      expect((await domainFailure(finish(begun, unknown.assert(begun.optionsJson)))).reason).toBe(
        "unknown_credential",
      );

      const stranger = await world.person();
      const theirs = new SoftwareAuthenticator({ origin: ORIGIN });
      await registered(stranger, theirs);
      const mfa = await assertions.begin({ token: "mfa-token", userId: user.id });
      // A client that ignores allowCredentials and answers with another account's passkey.
      const theirAnswer = theirs.assert(
        JSON.stringify({ ...JSON.parse(mfa.optionsJson), allowCredentials: [] }),
      );
      expect((await domainFailure(finish(mfa, theirAnswer))).reason).toBe("unknown_credential");

      const late = await assertions.begin(undefined);
      const answer = authenticator.assert(late.optionsJson);
      clock += TTL_MS + 1;
      expect((await domainFailure(finish(late, answer))).reason).toBe("ceremony_not_found");
    });

    it("hands a ceremony to one of concurrent answers only", async () => {
      // Counterless, so that only the ceremony's single use (not the counter) can refuse the others.
      const counterless = new SoftwareAuthenticator({ origin: ORIGIN, counterStep: 0 });
      await registered(user, counterless);
      const begun = await assertions.begin(undefined);
      const answer = counterless.assert(begun.optionsJson);
      const outcomes = await Promise.allSettled([
        finish(begun, answer),
        finish(begun, answer),
        finish(begun, answer),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    });

    it("answers malformed JSON with INVALID_ARGUMENT naming credential_json", async () => {
      const begun = await assertions.begin(undefined);
      const failure = await domainFailure(finish(begun, "{"));
      expect(failure).toMatchObject({ kind: "invalid_argument", violations: [{ field: "credential_json" }] });
    });
  });

  describe("management", () => {
    it("removing the last second factor needs the password; with another passkey it does not", async () => {
      const only = await registered();
      const failure = await domainFailure(service.delete(as(user), { passkeyId: only.id, password: "" }));
      expect({ kind: failure.kind, reason: failure.reason }).toEqual({
        kind: "unauthenticated",
        reason: "reauthentication_required",
      });
      expect(
        (await domainFailure(service.delete(as(user), { passkeyId: only.id, password: "wrong" }))).reason,
      ).toBe("invalid_credentials");
      const second = await registered(user, new SoftwareAuthenticator({ origin: ORIGIN }));
      await service.delete(as(user), { passkeyId: only.id, password: "" });
      await service.delete(as(user), { passkeyId: second.id, password: TEST_PASSWORD });
      expect(passkeys.rows.size).toBe(0);
      expect(world.auditEvents.of("passkey.delete").map((event) => [event.result, event.reason])).toEqual([
        ["failure", "reauthentication_required"],
        ["failure", "invalid_credentials"],
        ["success", ""],
        ["success", ""],
      ]);
    });

    it("renames and lists only one's own passkeys", async () => {
      const mine = await registered();
      const stranger = await world.person();
      expect((await domainFailure(service.rename(as(stranger), mine.id, "Mine now"))).reason).toBe(
        "passkey_not_found",
      );
      expect(
        (await domainFailure(service.delete(as(stranger), { passkeyId: mine.id, password: TEST_PASSWORD })))
          .reason,
      ).toBe("passkey_not_found");
      expect(await service.list(as(stranger))).toEqual([]);
      await service.rename(as(user), mine.id, "Yubikey");
      expect((await service.list(as(user))).map((passkey) => passkey.name)).toEqual(["Yubikey"]);
    });

    it("lets administrators list and remove within users.read / users.write and the privilege ceiling", async () => {
      const admin = await world.person({ roles: [ADMIN_ROLE] });
      const adminsPasskey = await registered(admin, new SoftwareAuthenticator({ origin: ORIGIN }));
      const mine = await registered();
      const helpdesk = await world.person({ roles: [await world.role(["users.read", "users.write"])] });
      expect((await domainFailure(service.listForUser(as(user), admin.id))).reason).toBe(
        "missing_permission",
      );
      expect((await service.listForUser(as(helpdesk), user.id)).map((passkey) => passkey.id)).toEqual([
        mine.id,
      ]);
      expect(
        (await domainFailure(service.deleteForUser(as(helpdesk), admin.id, adminsPasskey.id))).reason,
      ).toBe("target_more_privileged");
      await service.deleteForUser(as(helpdesk), user.id, mine.id);
      expect((await domainFailure(service.deleteForUser(as(helpdesk), user.id, mine.id))).reason).toBe(
        "passkey_not_found",
      );
      expect(
        world.auditEvents.of("passkey.admin_delete").map((event) => [event.result, event.reason]),
      ).toEqual([
        ["failure", "target_more_privileged"],
        ["success", ""],
        ["failure", "passkey_not_found"],
      ]);
    });
  });

  it("answers FAILED_PRECONDITION under Keycloak (its own WebAuthn applies) and when disabled", async () => {
    for (const [availability, reason] of [
      ["keycloak", "passkeys_managed_by_keycloak"],
      ["disabled", "passkeys_disabled"],
    ] as const) {
      build(availability);
      const admin = await world.person({ roles: [ADMIN_ROLE] });
      for (const attempt of [
        service.beginRegistration(as(user), { name: "" }),
        service.list(as(user)),
        service.listForUser(as(admin), user.id),
        assertions.begin(undefined),
        assertions.finish("x".repeat(43), "{}"),
      ]) {
        expect(await domainFailure(attempt)).toMatchObject({ kind: "failed_precondition", reason });
      }
      expect(await assertions.hasPasskeys(user.id)).toBe(false);
    }
  });
});
