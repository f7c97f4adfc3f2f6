import { DomainError } from "../errors.ts";

/** The parts of a WebAuthn response JSON the domain reads; the verifier checks the rest. */
export interface CredentialJson extends Record<string, unknown> {
  readonly id: string;
  /** The authenticator's user handle (sign-in), base64url; undefined when absent. */
  readonly userHandle: string | undefined;
}

const invalid = (description: string) =>
  new DomainError("invalid_argument", "invalid_credential_json", `credential_json: ${description}`, {
    violations: [{ field: "credential_json", description }],
  });

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses RegistrationResponseJSON / AuthenticationResponseJSON far enough to
 * find the credential; anything malformed is INVALID_ARGUMENT naming the field.
 */
export function parseCredentialJson(json: string): CredentialJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid("not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid("not a JSON object");
  const record = parsed as Record<string, unknown>;
  if (
    typeof record.id !== "string" ||
    record.id === "" ||
    record.id.length > 1024 ||
    !BASE64URL.test(record.id)
  ) {
    throw invalid("id must be the credential id, base64url");
  }
  if (record.type !== "public-key") throw invalid('type must be "public-key"');
  const response = record.response;
  if (typeof response !== "object" || response === null || Array.isArray(response)) {
    throw invalid("response must be an object");
  }
  const responseRecord = response as Record<string, unknown>;
  if (typeof responseRecord.clientDataJSON !== "string") throw invalid("response.clientDataJSON is missing");
  const userHandle = responseRecord.userHandle;
  if (userHandle !== undefined && userHandle !== null && typeof userHandle !== "string") {
    throw invalid("response.userHandle must be a string");
  }
  return {
    ...record,
    id: record.id,
    userHandle: typeof userHandle === "string" && userHandle !== "" ? userHandle : undefined,
  };
}
