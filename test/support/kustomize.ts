import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

/**
 * `kubectl kustomize` for the subset deploy/kubernetes uses, so the manifests can be rendered and
 * validated where kubectl is not installed (Debian's repositories do not carry it). Anything
 * outside the subset throws rather than rendering something kustomize would not:
 * - resources: files (one or more YAML documents) and directories holding a kustomization.yaml;
 * - configMapGenerator: literals and files, behavior create/merge/replace, the content hash
 *   suffix kustomize appends (the same hash, see configMapHash) and the renamed references to it
 *   in pod specs;
 * - patches: strategic merge patches (by path or inline) found by the patch's kind and name, with
 *   the merge keys of the lists they touch; `null` deletes a field;
 * - namespace (every resource here is namespaced) and images (newName, newTag).
 * `scripts/kustomize-check.sh` compares its output with kubectl's where kubectl exists.
 */

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
};

interface Generated {
  readonly name: string;
  readonly hash: boolean;
}

interface Built {
  readonly resources: Manifest[];
  readonly generated: Map<string, Generated>;
}

const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion",
  "kind",
  "resources",
  "namespace",
  "images",
  "configMapGenerator",
  "patches",
]);

/** Renders the kustomization in `dir` as kubectl kustomize would (as a list, in no set order). */
export function kustomize(dir: string): Manifest[] {
  const { resources, generated } = build(resolve(dir));
  const renamed = new Map<string, string>();
  for (const resource of resources) {
    const entry = resource.kind === "ConfigMap" ? generated.get(resource.metadata.name) : undefined;
    if (entry === undefined || !entry.hash) continue;
    const name = `${resource.metadata.name}-${configMapHash(resource)}`;
    renamed.set(resource.metadata.name, name);
    resource.metadata.name = name;
  }
  for (const resource of resources) renameConfigMapReferences(resource, renamed);
  return resources;
}

function build(dir: string): Built {
  const kustomization = readYaml(join(dir, "kustomization.yaml"))[0] as Record<string, unknown>;
  for (const key of Object.keys(kustomization)) {
    if (!KUSTOMIZATION_FIELDS.has(key))
      throw new Error(`${dir}: kustomization field ${key} is not supported`);
  }
  const resources: Manifest[] = [];
  const generated = new Map<string, Generated>();
  for (const entry of (kustomization.resources ?? []) as string[]) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) {
      const child = build(path);
      resources.push(...child.resources);
      for (const [name, value] of child.generated) generated.set(name, value);
    } else {
      resources.push(...(readYaml(path) as Manifest[]));
    }
  }

  for (const generator of (kustomization.configMapGenerator ?? []) as Record<string, unknown>[]) {
    const {
      name,
      behavior = "create",
      literals = [],
      files = [],
      options = {},
      ...rest
    } = generator as {
      name: string;
      behavior?: string;
      literals?: string[];
      files?: string[];
      options?: { disableNameSuffixHash?: boolean };
    };
    if (Object.keys(rest).length > 0)
      throw new Error(`configMapGenerator ${name}: ${Object.keys(rest)} unsupported`);
    const data: Record<string, string> = {};
    for (const literal of literals) {
      const separator = literal.indexOf("=");
      if (separator <= 0) throw new Error(`configMapGenerator ${name}: bad literal ${literal}`);
      data[literal.slice(0, separator)] = literal.slice(separator + 1);
    }
    for (const file of files) data[basename(file)] = readFileSync(resolve(dir, file), "utf8");
    const existing = resources.find((r) => r.kind === "ConfigMap" && r.metadata.name === name);
    if (behavior === "create") {
      if (existing !== undefined) throw new Error(`configMapGenerator ${name} already exists`);
      resources.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
    } else if (behavior === "merge" || behavior === "replace") {
      if (existing === undefined) throw new Error(`configMapGenerator ${name}: nothing to ${behavior}`);
      existing.data = behavior === "merge" ? { ...(existing.data as object), ...data } : data;
    } else {
      throw new Error(`configMapGenerator ${name}: behavior ${behavior} unsupported`);
    }
    generated.set(name, { name, hash: options.disableNameSuffixHash !== true });
  }

  for (const entry of (kustomization.patches ?? []) as Record<string, unknown>[]) {
    const { path, patch, ...rest } = entry as { path?: string; patch?: string };
    if (Object.keys(rest).length > 0)
      throw new Error(`patches: ${Object.keys(rest)} unsupported (only path/patch)`);
    const documents =
      path !== undefined ? readYaml(resolve(dir, path)) : parseAllDocuments(patch ?? "").map((d) => d.toJS());
    for (const document of documents as Manifest[]) {
      const index = resources.findIndex(
        (r) => r.kind === document.kind && r.metadata.name === document.metadata.name,
      );
      if (index < 0) throw new Error(`patch for ${document.kind}/${document.metadata.name} matches nothing`);
      resources[index] = strategicMerge(resources[index], document, []) as Manifest;
    }
  }

  if (typeof kustomization.namespace === "string") {
    for (const resource of resources) resource.metadata.namespace = kustomization.namespace;
  }

  for (const image of (kustomization.images ?? []) as { name: string; newName?: string; newTag?: string }[]) {
    for (const resource of resources) {
      for (const container of podContainers(resource)) {
        const current = container.image as string;
        const [imageName, tag] = splitImage(current);
        if (imageName !== image.name) continue;
        container.image = `${image.newName ?? imageName}${image.newTag !== undefined ? `:${image.newTag}` : tag === undefined ? "" : `:${tag}`}`;
      }
    }
  }
  return { resources, generated };
}

function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]!.message}`);
      return document.toJS();
    })
    .filter((document) => document !== null);
}

function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

/** The merge keys of the lists our patches touch (Kubernetes' patchMergeKey for each). */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
};

function strategicMerge(original: unknown, patch: unknown, path: string[]): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[path.at(-1) ?? ""];
    if (key === undefined || !Array.isArray(original)) return structuredClone(patch);
    // Like kustomize: the patch's items (merged with the matching originals) in the patch's
    // order, then the originals the patch did not name.
    const named = new Set(patch.map((item) => (item as Record<string, unknown>)[key]));
    const merged = patch.map((item) => {
      const match = original.find(
        (candidate) => (candidate as Record<string, unknown>)[key] === (item as Record<string, unknown>)[key],
      );
      return match === undefined ? structuredClone(item) : strategicMerge(match, item, path);
    });
    return [...merged, ...original.filter((item) => !named.has((item as Record<string, unknown>)[key]))];
  }
  if (typeof patch === "object" && patch !== null) {
    if (typeof original !== "object" || original === null || Array.isArray(original))
      return structuredClone(patch);
    const result: Record<string, unknown> = { ...(original as Record<string, unknown>) };
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith("$")) throw new Error(`patch directive ${key} is not supported`);
      if (value === null) delete result[key];
      else result[key] = strategicMerge(result[key], value, [...path, key]);
    }
    return result;
  }
  return patch;
}

function podSpec(resource: Manifest): Record<string, unknown> | undefined {
  const spec = resource.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
  return spec?.template?.spec;
}

function podContainers(resource: Manifest): Record<string, unknown>[] {
  const spec = podSpec(resource);
  if (spec === undefined) return [];
  return [...((spec.initContainers ?? []) as []), ...((spec.containers ?? []) as [])];
}

function renameConfigMapReferences(resource: Manifest, renamed: Map<string, string>): void {
  const spec = podSpec(resource);
  if (spec === undefined) return;
  const rename = (holder: { name?: string } | undefined) => {
    if (holder?.name !== undefined && renamed.has(holder.name)) holder.name = renamed.get(holder.name)!;
  };
  for (const volume of (spec.volumes ?? []) as Record<string, any>[]) {
    rename(volume.configMap);
    for (const source of volume.projected?.sources ?? []) rename(source.configMap);
  }
  for (const container of podContainers(resource) as Record<string, any>[]) {
    for (const from of container.envFrom ?? []) rename(from.configMapRef);
    for (const variable of container.env ?? []) rename(variable.valueFrom?.configMapKeyRef);
  }
}

/**
 * kustomize's hash of a ConfigMap (api/hasher): Go's json.Marshal of its kind, name and data.
 * The name is hashed as "": kustomize looks it up as one field called "metadata/name", which no
 * ConfigMap has (checked against kubectl kustomize v5.5).
 */
export function configMapHash(configMap: Manifest): string {
  const data = (configMap.data ?? {}) as Record<string, string>;
  const encoded = goJson({ data, kind: "ConfigMap", name: "" });
  const hex = createHash("sha256").update(encoded).digest("hex");
  const swap: Record<string, string> = { "0": "g", "1": "h", "3": "k", a: "m", e: "t" };
  return [...hex.slice(0, 10)].map((char) => swap[char] ?? char).join("");
}

/** encoding/json: map keys sorted, and <, >, &, U+2028, U+2029 and control characters escaped as \u00XX. */
function goJson(value: unknown): string {
  if (typeof value === "string") {
    let out = '"';
    for (const char of value) {
      const code = char.codePointAt(0)!;
      if (char === '"') out += '\\"';
      else if (char === "\\") out += "\\\\";
      else if (char === "\n") out += "\\n";
      else if (char === "\r") out += "\\r";
      else if (char === "\t") out += "\\t";
      else if (
        code < 0x20 ||
        char === "<" ||
        char === ">" ||
        char === "&" ||
        code === 0x2028 ||
        code === 0x2029
      )
        out += `\\u${code.toString(16).padStart(4, "0")}`;
      else out += char;
    }
    return `${out}"`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${goJson(key)}:${goJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
