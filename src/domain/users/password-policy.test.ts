import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.ts";
import { PasswordPolicy } from "./password-policy.ts";

const account = { username: "margaret", email: "margaret.hamilton@example.test" };

describe("PasswordPolicy", () => {
  const policy = new PasswordPolicy({ minLength: 10, minCharacterClasses: 1 });

  it("accepts long passphrases without composition rules by default", () => {
    expect(policy.problems("correct horse battery staple", account)).toEqual([]);
  });

  it("refuses short, common, repeated, and name-based passwords", () => {
    expect(policy.problems("short", account)).toEqual(["must be at least 10 characters"]);
    expect(policy.problems("password123", account)).toContain("is too common");
    expect(policy.problems("aaaaaaaaaaaa", account)).toContain("must not repeat a single character");
    expect(policy.problems("i-am-margaret-1", account)).toContain("must not contain the username or email");
    expect(policy.problems("margaret.hamilton", account)).toContain("must not contain the username or email");
    expect(policy.problems("x".repeat(257), account)).toContain("must be at most 256 characters");
  });

  it("counts characters, not UTF-16 units", () => {
    expect(policy.problems("🔑🔑🔑🔑🔑🔒🔒🔒🔒", account)).toEqual(["must be at least 10 characters"]);
  });

  it("enforces character classes when configured", () => {
    const strict = new PasswordPolicy({ minLength: 8, minCharacterClasses: 3 });
    expect(strict.problems("alllowercase", account)).toHaveLength(1);
    expect(strict.problems("Mixed-case1", account)).toEqual([]);
  });

  it("throws invalid_argument weak_password naming the field", () => {
    try {
      policy.check("short", account, "new_password");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ kind: "invalid_argument", reason: "weak_password" });
      expect((error as DomainError).violations[0]!.field).toBe("new_password");
      expect((error as DomainError).message).not.toContain("short");
    }
  });
});
