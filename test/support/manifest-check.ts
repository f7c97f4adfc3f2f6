import { resolve } from "node:path";
import ts from "typescript";
import type { Manifest } from "./kustomize.ts";

/**
 * Offline checks of Kubernetes manifests against the API's schemas, in two halves:
 * - kubernetes-models' validators (compiled from the Kubernetes OpenAPI document, and for the
 *   ServiceMonitor from the prometheus-operator CRD's schema): types, formats, required fields;
 * - unknown fields, which those schemas allow (the OpenAPI document does not forbid additional
 *   properties) but the API server refuses (kubectl's default --validate=strict): each manifest is
 *   type-checked as an object literal of the same package's TypeScript interface, and TypeScript
 *   reports every property the interface does not declare, at any depth.
 */

interface Model {
  readonly module: string;
  readonly className: string;
  readonly interfaceName: string;
}

const MODELS: Record<string, Model> = {
  "v1/ConfigMap": core("ConfigMap"),
  "v1/PersistentVolumeClaim": core("PersistentVolumeClaim"),
  "v1/Service": core("Service"),
  "v1/ServiceAccount": core("ServiceAccount"),
  "apps/v1/Deployment": model("kubernetes-models/apps/v1/Deployment", "Deployment"),
  "policy/v1/PodDisruptionBudget": model(
    "kubernetes-models/policy/v1/PodDisruptionBudget",
    "PodDisruptionBudget",
  ),
  "networking.k8s.io/v1/NetworkPolicy": model(
    "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
    "NetworkPolicy",
  ),
  "monitoring.coreos.com/v1/ServiceMonitor": model(
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
    "ServiceMonitor",
  ),
  "monitoring.coreos.com/v1/PrometheusRule": model(
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
    "PrometheusRule",
  ),
};

function model(module: string, className: string): Model {
  return { module, className, interfaceName: `I${className}` };
}

function core(kind: string): Model {
  return model(`kubernetes-models/v1/${kind}`, kind);
}

const describe = (manifest: Manifest) => `${manifest.kind}/${manifest.metadata?.name}`;

function modelOf(manifest: Manifest): Model {
  const found = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (found === undefined)
    throw new Error(`${describe(manifest)}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  return found;
}

/** Problems kubernetes-models' schema validators find, one string per manifest that fails. */
export async function schemaProblems(manifests: readonly Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const { module, className } = modelOf(manifest);
    const Class = (await import(module))[className] as new (data: unknown) => { validate(): void };
    try {
      new Class(structuredClone(manifest)).validate();
    } catch (error) {
      problems.push(`${describe(manifest)}: ${(error as Error).message}`);
    }
  }
  return problems;
}

const ROOT = resolve(import.meta.dirname, "../..");

/** Fields the schemas' TypeScript interfaces do not declare, as TypeScript reports them. */
export function unknownFieldProblems(manifests: readonly Manifest[]): string[] {
  const fileName = resolve(ROOT, "test/deploy/__rendered_manifests__.ts");
  const lines: string[] = [];
  const owners: { line: number; manifest: Manifest }[] = [];
  manifests.forEach((manifest, index) => {
    const { module, interfaceName } = modelOf(manifest);
    lines.push(`import type { ${interfaceName} as T${index} } from "${module}";`);
  });
  let line = lines.length;
  manifests.forEach((manifest, index) => {
    owners.push({ line, manifest });
    const statement = `export const m${index}: T${index} = ${JSON.stringify(manifest, null, 1)};`;
    lines.push(statement);
    line += statement.split("\n").length;
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  const file = program.getSourceFile(fileName)!;
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map(
    (diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      if (diagnostic.start === undefined) return text;
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start);
      const owner = owners.findLast((candidate) => candidate.line <= line);
      return `${owner === undefined ? "" : describe(owner.manifest)}: ${text}`;
    },
  );
}
