import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Each file's imports (type-only ones included: they still couple the layers). */
export interface ImportGraph {
  /** src-relative path → src-relative paths it imports. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
  /** src-relative path → the packages it imports (`typeorm`, `@connectrpc/connect`, `node:crypto`…). */
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/g;

function sourceFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(root, path) === "gen") continue;
      files.push(...sourceFiles(root, path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      files.push(path);
    }
  }
  return files;
}

/** Reads every non-test .ts file under `root` (generated code excluded) and its relative imports. */
export function readImportGraph(root: string): ImportGraph {
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, "utf8");
    const targets: string[] = [];
    const used: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1]!;
      if (!specifier.startsWith(".")) {
        used.push(specifier);
        continue;
      }
      const target = relative(root, resolve(dirname(file), specifier));
      if (target.startsWith("gen/") || target.startsWith("..")) continue;
      targets.push(target);
    }
    edges.set(relative(root, file), targets);
    packages.set(relative(root, file), used);
  }
  return { edges, packages };
}

/**
 * The unit a layering rule talks about: `domain/<area>`, `identity/<adapter>`,
 * `persistence`, `rpc`, … (a file directly in src/ is its own unit).
 */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts.length === 1) return path;
  if ((parts[0] === "domain" || parts[0] === "identity") && parts.length > 2)
    return `${parts[0]}/${parts[1]}`;
  return parts[0]!;
}

/** Strongly connected components with more than one member (Tarjan): the cycles. */
export function cycles(edges: ReadonlyMap<string, Iterable<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!indices.has(node)) visit(node);
  return found;
}

export function folderEdges(graph: ImportGraph): Map<string, Set<string>> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph.edges) {
    const from = folderOf(file);
    const set = folders.get(from) ?? new Set<string>();
    for (const target of targets) if (folderOf(target) !== from) set.add(folderOf(target));
    folders.set(from, set);
  }
  return folders;
}
