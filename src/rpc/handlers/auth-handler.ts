import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService as AuthDomain } from "../../domain/auth/auth-service.ts";
import type { ChangeStream } from "../../domain/change-feed/change-stream.ts";
import type { WatchAccess } from "../../domain/change-feed/watch-access.ts";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import type { KeyAdministration } from "../../domain/keys/key-administration.ts";
import type { PasskeyService } from "../../domain/passkeys/passkey-service.ts";
import type { UserService } from "../../domain/users/user-service.ts";
import type { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { actorOf, callInfo, requirePrincipal } from "../context.ts";
import { toCeremonyMessage, toPasskeyMessage } from "../mappers/passkey-mapper.ts";
import { toTokenSet } from "../mappers/token-mapper.ts";
import { fromProfileChanges, toUserMessage } from "../mappers/user-mapper.ts";
import { createVerifyTokenHandler } from "./verify-token.ts";
import { createWatchChangesHandler } from "./watch-changes.ts";

/** AuthService. Each method maps the request to the domain and back; VerifyToken is the decision engine's. */
export function createAuthHandler(deps: {
  auth: AuthDomain;
  passkeys: PasskeyService;
  users: UserService;
  engine: DecisionEngine;
  keys: KeyAdministration;
  changeStream: ChangeStream;
  watchAccess: WatchAccess;
}): ServiceImpl<typeof AuthService> {
  const { auth, passkeys, users } = deps;
  return {
    verifyToken: createVerifyTokenHandler(deps.engine),
    watchChanges: createWatchChangesHandler(deps.changeStream, deps.watchAccess),

    async signUp(request, context) {
      const result = await auth.signUp(
        {
          username: request.username,
          email: request.email,
          password: request.password,
          firstName: request.firstName,
          middleName: request.middleName,
          lastName: request.lastName,
          phone: request.phone,
        },
        callInfo(context),
      );
      return {
        user: toUserMessage(result.user),
        emailVerificationRequired: result.emailVerificationRequired,
      };
    },

    async verifyEmail(request, context) {
      await auth.verifyEmail(request.token, callInfo(context));
      return {};
    },

    async login(request, context) {
      const result = await auth.login(
        {
          login: request.login,
          password: request.password,
          totpCode: request.totpCode === "" ? undefined : request.totpCode,
        },
        callInfo(context),
      );
      if ("tokens" in result) return { result: { case: "tokens", value: toTokenSet(result.tokens) } };
      const challenge = result.mfaChallenge;
      return {
        result: {
          case: "mfaChallenge",
          value: {
            mfaToken: challenge.mfaToken,
            expireTime: timestampFromDate(challenge.expiresAt),
            methods: [...challenge.methods],
          },
        },
      };
    },

    async verifyMfa(request, context) {
      const code = request.code;
      if (code.case === undefined) throw new Error("unreachable: validation requires a code");
      const answer = code.case === "totpCode" ? { totpCode: code.value } : { recoveryCode: code.value };
      const tokens = await auth.verifyMfa({ mfaToken: request.mfaToken, answer }, callInfo(context));
      return { tokens: toTokenSet(tokens) };
    },

    async refresh(request, context) {
      return { tokens: toTokenSet(await auth.refresh(request.refreshToken, callInfo(context))) };
    },

    async logout(request, context) {
      await auth.logout(
        { refreshToken: request.refreshToken, principal: () => requirePrincipal(context) },
        callInfo(context),
      );
      return {};
    },

    async logoutEverywhere(request, context) {
      const ended = await auth.logoutEverywhere(await actorOf(context), {
        includeOffline: request.includeOffline,
      });
      return { sessionsEnded: ended };
    },

    async forgotPassword(request, context) {
      await auth.forgotPassword(request.email, callInfo(context));
      return {};
    },

    async resetPassword(request, context) {
      await auth.resetPassword(
        { resetToken: request.resetToken, newPassword: request.newPassword },
        callInfo(context),
      );
      return {};
    },

    async clientCredentialsToken(request, context) {
      const tokens = await auth.clientCredentialsToken(
        { clientId: request.clientId, clientSecret: request.clientSecret, scope: request.scope },
        callInfo(context),
      );
      return { tokens: toTokenSet(tokens) };
    },

    async getMe(_request, context) {
      const me = await users.getMe(await actorOf(context));
      return {
        user: toUserMessage(me.user),
        permissions: me.permissions,
        grants: me.grants.map((grant) => ({ ...grant })),
      };
    },

    async updateMe(request, context) {
      const user = await users.updateMe(await actorOf(context), fromProfileChanges(request.changes));
      return { user: toUserMessage(user) };
    },

    async changePassword(request, context) {
      await auth.changePassword(await actorOf(context), {
        currentPassword: request.currentPassword,
        newPassword: request.newPassword,
      });
      return {};
    },

    async enrollTotp(_request, context) {
      const enrollment = await auth.enrollTotp(await actorOf(context));
      return {
        secret: enrollment.secret,
        otpauthUri: enrollment.otpauthUri,
        qrCodePng: enrollment.qrCodePng,
      };
    },

    async confirmTotp(request, context) {
      return { recoveryCodes: await auth.confirmTotp(await actorOf(context), request.code) };
    },

    async disableTotp(request, context) {
      const factor = request.secondFactor;
      if (factor.case === undefined) throw new Error("unreachable: validation requires a second factor");
      const answer = factor.case === "totpCode" ? { totpCode: factor.value } : { recoveryCode: factor.value };
      await auth.disableTotp(await actorOf(context), { password: request.password, answer });
      return {};
    },

    async regenerateRecoveryCodes(request, context) {
      return { recoveryCodes: await auth.regenerateRecoveryCodes(await actorOf(context), request.password) };
    },

    async rotateSigningKeys(_request, context) {
      const rotated = await deps.keys.rotateSigningKeys(await actorOf(context));
      return {
        keys: rotated.map((key) => ({
          kid: key.kid,
          algorithm: key.algorithm,
          activateTime: timestampFromDate(key.activatesAt),
          previousRetireTime: timestampFromDate(key.previousRetiresAt),
        })),
      };
    },

    async beginPasskeyRegistration(request, context) {
      return toCeremonyMessage(
        await passkeys.beginRegistration(await actorOf(context), { name: request.name }),
      );
    },

    async finishPasskeyRegistration(request, context) {
      const passkey = await passkeys.finishRegistration(await actorOf(context), {
        ceremonyId: request.ceremonyId,
        credentialJson: request.credentialJson,
        name: request.name,
      });
      return { passkey: toPasskeyMessage(passkey) };
    },

    async listPasskeys(_request, context) {
      return { passkeys: (await passkeys.list(await actorOf(context))).map(toPasskeyMessage) };
    },

    async renamePasskey(request, context) {
      const passkey = await passkeys.rename(await actorOf(context), request.passkeyId, request.name);
      return { passkey: toPasskeyMessage(passkey) };
    },

    async deletePasskey(request, context) {
      await passkeys.delete(await actorOf(context), {
        passkeyId: request.passkeyId,
        password: request.password,
      });
      return {};
    },

    async beginPasskeySignIn(request, context) {
      return toCeremonyMessage(
        await auth.beginPasskeySignIn({ mfaToken: request.mfaToken }, callInfo(context)),
      );
    },

    async finishPasskeySignIn(request, context) {
      const tokens = await auth.finishPasskeySignIn(
        { ceremonyId: request.ceremonyId, credentialJson: request.credentialJson },
        callInfo(context),
      );
      return { tokens: toTokenSet(tokens) };
    },
  };
}
