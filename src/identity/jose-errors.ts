import { errors } from "jose";
import { DomainError } from "../domain/errors.ts";

const fail = (reason: string, message: string, cause?: unknown): DomainError =>
  new DomainError("unauthenticated", reason, message, { cause });

/**
 * A jose verification failure as the AccessTokenVerifier contract's
 * unauthenticated DomainError (reasons: token_expired, token_not_yet_valid,
 * wrong_issuer, wrong_audience, invalid_signature, unsupported_algorithm,
 * unknown_key, malformed_token). DomainErrors pass through.
 */
export function accessTokenError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (error instanceof errors.JWTExpired) return fail("token_expired", "the access token has expired", error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
      case "iat":
        return fail("token_not_yet_valid", "the access token is not valid yet", error);
      case "iss":
        return fail("wrong_issuer", "the access token was issued by someone else", error);
      case "aud":
        return fail("wrong_audience", "the access token is meant for another audience", error);
      default:
        return fail("malformed_token", "the access token's claims are not valid", error);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return fail("invalid_signature", "the access token's signature is not valid", error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return fail("unsupported_algorithm", "the access token's algorithm is not accepted", error);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return fail("unknown_key", "the access token was signed with an unknown key", error);
  }
  return fail("malformed_token", "the access token is malformed", error);
}
