import { describe, expect, it } from "vitest";
import { newRequestId, requestIdFrom } from "./request-id.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("request ids", () => {
  it("are random version-4 UUIDs, none repeated across many batches of random bytes", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newRequestId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
  });

  it("use every hex digit in every free position (no position stuck at one value)", () => {
    const ids = Array.from({ length: 2000 }, newRequestId);
    for (let at = 0; at < 36; at++) {
      if ([8, 13, 14, 18, 19, 23].includes(at)) continue; // dashes, the version and the variant digit
      const digits = new Set(ids.map((id) => id[at]));
      expect(digits.size, `position ${at}`).toBe(16);
    }
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(["8", "9", "a", "b"]));
  });

  it("are independent strings: a later id does not change an earlier one", () => {
    const first = newRequestId();
    const copy = `${first}`;
    newRequestId();
    expect(first).toBe(copy);
  });

  it("keep a well-formed caller's id and replace anything else", () => {
    expect(requestIdFrom("abc-123.x:y_z")).toBe("abc-123.x:y_z");
    for (const bad of [undefined, null, "", "has space", "a\nb", "x".repeat(129), "ünï"]) {
      expect(requestIdFrom(bad)).toMatch(UUID_V4);
    }
  });
});
