#!/usr/bin/env bash
# Compares what test/support/kustomize.ts renders (what test/deploy validates) with
# `kubectl kustomize`, for every kustomization under deploy/kubernetes that is installed on its
# own. Needs kubectl, which Debian's repositories do not carry: not part of npm test; run it
# after changing the manifests or the renderer.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v kubectl >/dev/null || { echo "kubectl not found" >&2; exit 1; }
status=0
for dir in deploy/kubernetes/overlays/* deploy/kubernetes/examples/*; do
  kubectl kustomize "$dir" | scripts/node24.sh node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { isDeepStrictEqual } from "node:util";
    import { parseAllDocuments } from "yaml";
    import { kustomize } from "./test/support/kustomize.ts";
    const key = (m) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;
    const byKey = (list) => new Map(list.map((m) => [key(m), m]));
    const theirs = byKey(parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()));
    const ours = byKey(kustomize(process.argv[1]));
    const keys = new Set([...theirs.keys(), ...ours.keys()]);
    let same = true;
    for (const k of keys) {
      if (!isDeepStrictEqual(theirs.get(k), ours.get(k))) {
        same = false;
        console.error(`${process.argv[1]}: ${k} differs`);
        console.error("kubectl:", JSON.stringify(theirs.get(k)));
        console.error("ours:   ", JSON.stringify(ours.get(k)));
      }
    }
    if (!same) process.exit(1);
    console.log(`${process.argv[1]}: ${keys.size} resources, same as kubectl kustomize`);
  ' "$dir" || status=1
done
exit "$status"
