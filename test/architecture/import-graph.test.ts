import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cycles, folderEdges, folderOf, type ImportGraph, readImportGraph } from "./import-graph.ts";

const SRC = resolve(import.meta.dirname, "../../src");

/** Folders (by prefix) that a layer must not import. */
const FORBIDDEN: ReadonlyArray<{
  from: string;
  to: readonly string[];
  why: string;
  /** Sub-folders the rule does not cover (they have a rule of their own). */
  except?: readonly string[];
}> = [
  {
    from: "domain",
    to: ["identity", "persistence", "cache", "mail", "rpc", "server", "compose", "config", "main.ts"],
    why: "the domain knows ports, never adapters",
  },
  {
    from: "identity",
    to: ["rpc", "server", "persistence", "cache", "compose"],
    why: "providers are adapters",
  },
  {
    from: "persistence",
    to: ["identity", "rpc", "server", "cache", "compose"],
    why: "storage knows the domain only",
  },
  { from: "cache", to: ["identity", "persistence", "rpc", "server", "compose"], why: "an adapter" },
  { from: "mail", to: ["identity", "persistence", "rpc", "server", "compose"], why: "an adapter" },
  {
    from: "rpc",
    to: ["identity", "persistence", "cache", "mail", "compose"],
    why: "handlers call the domain",
  },
  {
    from: "server",
    to: ["domain", "identity", "persistence", "cache", "rpc", "compose", "web"],
    why: "transport only",
    except: ["server/oidc"],
  },
  {
    // The OpenID Provider's endpoints and hosted pages are handlers like rpc/: they call the domain.
    from: "server/oidc",
    to: ["identity", "persistence", "cache", "mail", "rpc", "compose"],
    why: "HTTP handlers call the domain",
  },
  {
    from: "web",
    to: ["identity", "persistence", "cache", "mail", "rpc", "compose"],
    why: "hosted pages call the domain, like handlers",
  },
];

/** Packages only adapters may use. */
const ADAPTER_PACKAGES = [
  /^typeorm/,
  /^pg$/,
  /^ioredis$/,
  /^@connectrpc\//,
  /^openid-client$/,
  /^@keycloak\//,
];
const PACKAGE_RULES: ReadonlyArray<{ from: string; packages: readonly RegExp[] }> = [
  { from: "domain", packages: ADAPTER_PACKAGES },
  { from: "rpc", packages: [/^typeorm/, /^pg$/, /^ioredis$/] },
];

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

function layerViolations(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph.edges) {
    for (const rule of FORBIDDEN) {
      if (!under(file, rule.from) || rule.except?.some((folder) => under(file, folder))) continue;
      for (const target of targets) {
        if (rule.to.some((folder) => under(target, folder))) found.push(`${file} → ${target} (${rule.why})`);
      }
    }
    // Only the composition root and the entry points build the object graph.
    for (const target of targets) {
      if (under(target, "compose") && !under(file, "compose") && !/^[^/]+\.ts$/.test(file)) {
        found.push(`${file} → ${target} (only entry points use the composition root)`);
      }
    }
  }
  for (const [file, used] of graph.packages) {
    for (const rule of PACKAGE_RULES) {
      if (!under(file, rule.from)) continue;
      for (const name of used) if (rule.packages.some((p) => p.test(name))) found.push(`${file} → ${name}`);
    }
  }
  return found;
}

describe("the import graph of src/", () => {
  const graph = readImportGraph(SRC);

  it("reads the real tree", () => {
    expect(graph.edges.size).toBeGreaterThan(100);
    expect(graph.edges.get("compose/gatehouse.ts")).toContain("server/http-server.ts");
  });

  it("points inwards: no layer imports what it must not", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("has no cycle between files", () => {
    expect(cycles(graph.edges)).toEqual([]);
  });

  it("has no cycle between folders (domain areas and adapters)", () => {
    expect(cycles(folderEdges(graph))).toEqual([]);
  });

  it("builds repositories and the SQL runner only in the composition root", () => {
    const outside = [...graph.edges.keys()].filter((file) => {
      if (under(file, "compose")) return false;
      const text = readFileSync(resolve(SRC, file), "utf8");
      return /new Sql\w*Repository\(|new Sql\(|new ChangeLogRepository\(/.test(text);
    });
    expect(outside).toEqual([]);
  });
});

describe("the checks themselves", () => {
  const synthetic = (
    edges: Record<string, string[]>,
    packages: Record<string, string[]> = {},
  ): ImportGraph => ({
    edges: new Map(Object.entries(edges)),
    packages: new Map(Object.entries(packages)),
  });

  it("find a file cycle and a folder cycle", () => {
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", ["a"]],
          ["d", ["a"]],
        ]),
      ),
    ).toEqual([["a", "b", "c"]]);
    const folders = folderEdges(
      synthetic({
        "domain/users/user-service.ts": ["domain/roles/role.ts"],
        "domain/roles/role.ts": ["domain/users/user.ts"],
        "domain/users/user.ts": [],
      }),
    );
    expect(cycles(folders)).toEqual([["domain/roles", "domain/users"]]);
  });

  it("find a forbidden arrow and a forbidden package", () => {
    expect(
      layerViolations(
        synthetic(
          {
            "domain/users/user-service.ts": ["persistence/user-repository.ts"],
            "observability/logger.ts": ["compose/x.ts"],
          },
          { "domain/users/user-service.ts": ["ioredis"] },
        ),
      ),
    ).toEqual([
      "domain/users/user-service.ts → persistence/user-repository.ts (the domain knows ports, never adapters)",
      "observability/logger.ts → compose/x.ts (only entry points use the composition root)",
      "domain/users/user-service.ts → ioredis",
    ]);
  });

  it("name folders as the rules do", () => {
    expect(folderOf("domain/users/user.ts")).toBe("domain/users");
    expect(folderOf("identity/local/totp.ts")).toBe("identity/local");
    expect(folderOf("rpc/handlers/auth-handler.ts")).toBe("rpc");
    expect(folderOf("main.ts")).toBe("main.ts");
  });
});
