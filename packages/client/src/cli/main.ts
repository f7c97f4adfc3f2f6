#!/usr/bin/env node
import { runCli } from "./run.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const status = await runCli(
  process.argv.slice(2),
  {
    write: (text) => process.stdout.write(text),
    error: (text) => process.stderr.write(text),
    readStdin,
  },
  process.env,
);
process.exitCode = status;
