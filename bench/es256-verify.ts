/**
 * One ES256 verification, three ways, in one process (CPU from process.cpuUsage, so work on
 * libuv's pool counts too): jose.jwtVerify (WebCrypto, as Gatehouse verified its own tokens
 * before BENCHMARKS.md's finding 14), node:crypto with an options object and the IEEE P1363
 * signature, and node:crypto with the KeyObject itself and a DER signature made from the P1363
 * one (src/identity/local/es256-compact-jws.ts, as it does now). Not part of `npm run bench`.
 *
 *   scripts/node24.sh node bench/es256-verify.ts [verifications=4000]
 */
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { exportJWK, importJWK, jwtVerify } from "jose";
import { withLowS } from "../src/identity/local/ecdsa-low-s.ts";
import { derSignature } from "../src/identity/local/es256-compact-jws.ts";

const N = Number(process.argv[2] ?? 4000);
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const claims = { sub: "6f1c2a0e-2f7b-4f43-9b8e-0d9f5a1c3b7e", exp: 4_102_444_800 };
const input = `${Buffer.from('{"alg":"ES256"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
const token = withLowS(
  `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`,
);
const p1363 = Buffer.from(token.slice(token.lastIndexOf(".") + 1), "base64url");
const data = Buffer.from(input, "latin1");
const cryptoKey = await importJWK(await exportJWK(publicKey), "ES256");

async function cpuPerCall(name: string, once: () => unknown): Promise<void> {
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) if (!(await once())) throw new Error(`${name}: not verified`);
  const used = process.cpuUsage(before);
  console.log(`${name.padEnd(56)} ${((used.user + used.system) / N).toFixed(1).padStart(6)} µs of CPU`);
}

console.log(`${N} verifications each, Node ${process.version}`);
for (let round = 1; round <= 3; round++) {
  console.log(`round ${round}`);
  await cpuPerCall("jose.jwtVerify (WebCrypto)", async () => (await jwtVerify(token, cryptoKey)).payload);
  await cpuPerCall("crypto.verify({ key, dsaEncoding: 'ieee-p1363' }, P1363)", () =>
    verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, p1363),
  );
  await cpuPerCall("crypto.verify(KeyObject, derSignature(P1363))", () =>
    verify("sha256", data, publicKey, derSignature(p1363)),
  );
}
