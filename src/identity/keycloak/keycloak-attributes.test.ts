import { describe, expect, it } from "vitest";
import { mergeMetadataIntoAttributes, metadataFromAttributes } from "./keycloak-attributes.ts";

describe("Keycloak attributes ↔ Gatehouse metadata", () => {
  it("round-trips every metadata field, links as one JSON value each", () => {
    const metadata = {
      middleName: "Q",
      phone: "+44 20 7946 0000",
      telegram: "@alice",
      organization: "Acme",
      department: "Ops",
      title: "SRE",
      links: [
        { label: "site | home", url: "https://alice.example" },
        { label: "repo", url: "https://git.example/alice" },
      ],
    };
    const attributes = mergeMetadataIntoAttributes({}, metadata);
    expect(attributes).toMatchObject({
      middle_name: ["Q"],
      phone: ["+44 20 7946 0000"],
      department: ["Ops"],
    });
    expect(attributes.links).toHaveLength(2);
    expect(metadataFromAttributes(attributes)).toEqual(metadata);
  });

  it("keeps attributes it does not own, leaves absent fields, removes emptied ones", () => {
    const merged = mergeMetadataIntoAttributes(
      { costCenter: ["42"], phone: ["1"], title: ["Old"], links: ['{"label":"a","url":"https://a.test"}'] },
      { phone: "", title: "New", links: [] },
    );
    expect(merged).toEqual({ costCenter: ["42"], title: ["New"] });
  });

  it("reads missing or malformed values as empty", () => {
    expect(metadataFromAttributes(undefined)).toMatchObject({ phone: "", links: [] });
    expect(
      metadataFromAttributes({ links: ["not json", '{"label":1}', '{"label":"ok","url":"https://ok.test"}'] })
        .links,
    ).toEqual([{ label: "ok", url: "https://ok.test" }]);
  });
});
