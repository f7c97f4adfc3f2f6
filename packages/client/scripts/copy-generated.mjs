// The generated descriptors (src/gen, from buf.gen.yaml) are plain JS with
// .d.ts beside them: tsc resolves against them but does not emit them, so the
// build copies them next to the compiled code, at the same relative paths.
import { cpSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
cpSync(resolve(root, "src/gen"), resolve(root, "dist/gen"), { recursive: true });
