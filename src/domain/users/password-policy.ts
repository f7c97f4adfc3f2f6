import { DomainError } from "../errors.ts";

export interface PasswordPolicySettings {
  /** PASSWORD_MIN_LENGTH. */
  readonly minLength: number;
  /** PASSWORD_MIN_CHARACTER_CLASSES: of lower case, upper case, digits, others. */
  readonly minCharacterClasses: number;
}

const MAX_LENGTH = 256;

/**
 * A few passwords every cracking list starts with; rejected whatever the
 * length rules say. (NIST SP 800-63B: check against known-compromised values.)
 */
const COMMON = new Set([
  "password",
  "password1",
  "password123",
  "passw0rd",
  "123456789",
  "1234567890",
  "12345678910",
  "qwertyuiop",
  "qwerty123",
  "iloveyou",
  "letmein123",
  "welcome123",
  "administrator",
  "changeme123",
  "11111111111",
  "0987654321",
  "abcdefghij",
  "1q2w3e4r5t",
  "qwerty12345",
  "gatehouse123",
]);

/**
 * The password policy, checked before any password is stored: long enough,
 * at most 256 characters, enough character classes, not a well-known
 * password, not one repeated character, and not the username or email.
 */
export class PasswordPolicy {
  private readonly settings: PasswordPolicySettings;

  constructor(settings: PasswordPolicySettings) {
    this.settings = settings;
  }

  /** Problems with the password, empty when it is acceptable. */
  problems(password: string, account: { username: string; email: string }): string[] {
    const problems: string[] = [];
    const length = [...password].length;
    if (length < this.settings.minLength)
      problems.push(`must be at least ${this.settings.minLength} characters`);
    if (length > MAX_LENGTH) problems.push(`must be at most ${MAX_LENGTH} characters`);
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((pattern) =>
      pattern.test(password),
    ).length;
    if (classes < this.settings.minCharacterClasses) {
      problems.push(
        `must mix at least ${this.settings.minCharacterClasses} of: lower case, upper case, digits, other characters`,
      );
    }
    const lower = password.toLowerCase();
    if (COMMON.has(lower)) problems.push("is too common");
    if (length > 0 && new Set(password).size === 1) problems.push("must not repeat a single character");
    const names = [account.username, account.email, account.email.split("@")[0] ?? ""]
      .map((name) => name.toLowerCase())
      .filter((name) => name.length >= 3);
    if (names.some((name) => lower === name || (name.length >= 5 && lower.includes(name)))) {
      problems.push("must not contain the username or email");
    }
    return problems;
  }

  /** The rules in a sentence, for a form to show before anyone types (the hosted sign-up and reset pages). */
  summary(): string {
    const { minLength, minCharacterClasses } = this.settings;
    const mix =
      minCharacterClasses > 1
        ? `, mixing at least ${minCharacterClasses} of lower case, upper case, digits and other characters`
        : "";
    return `At least ${minLength} characters${mix}; not a common password, and not your username or email.`;
  }

  /** Throws invalid_argument "weak_password" naming `field` when the password breaks the policy. */
  check(password: string, account: { username: string; email: string }, field: string): void {
    const problems = this.problems(password, account);
    if (problems.length > 0) {
      throw new DomainError("invalid_argument", "weak_password", `the password ${problems.join("; ")}`, {
        violations: problems.map((description) => ({ field, description: `the password ${description}` })),
      });
    }
  }
}
