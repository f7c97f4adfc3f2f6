import { describe, expect, it } from "vitest";
import { safeReturnTo, withReturnTo } from "./return-to.ts";

describe("return_to", () => {
  it("keeps paths on our origin", () => {
    expect(safeReturnTo("/authorize?client_id=a&state=x")).toBe("/authorize?client_id=a&state=x");
    expect(withReturnTo("/signin", "/authorize?a=1")).toBe("/signin?return_to=%2Fauthorize%3Fa%3D1");
    expect(withReturnTo("/signin", undefined)).toBe("/signin");
  });

  it.each([
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "evil.example",
    "",
  ])("drops %j (no open redirect)", (value) => {
    expect(safeReturnTo(value)).toBeUndefined();
  });

  it("keeps an encoded look-alike as the harmless same-origin path it is", () => {
    const kept = safeReturnTo("/%2F%2Fevil.example");
    expect(new URL(kept!, "https://us.example").origin).toBe("https://us.example");
  });
});
