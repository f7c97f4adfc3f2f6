import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Trusts the CA bundle in KEYCLOAK_CA_FILE for Keycloak's TLS certificate, in
 * every call Gatehouse makes to it: openid-client (discovery, grants,
 * revocation, introspection), the admin client and its event reads, the
 * JWKS fetch and logout. They all go through Node's fetch, and the admin
 * client offers no way to give its fetch a CA of its own, so the bundle is
 * added (never substituted) to the process's default trust store
 * (tls.setDefaultCACertificates): it applies to every outgoing TLS connection
 * that names no CA itself (PostgreSQL and Redis name theirs when
 * DATABASE_SSL_CA_FILE / REDIS_TLS_CA_FILE are set). Called once, at start;
 * an unreadable file or one without a valid certificate stops the start
 * with a message naming the variable.
 */
export function trustKeycloakCa(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`KEYCLOAK_CA_FILE: cannot read ${file}`, { cause: error });
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) throw new Error(`KEYCLOAK_CA_FILE: no PEM certificate in ${file}`);
  for (const pem of certificates) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new Error(`KEYCLOAK_CA_FILE: an invalid certificate in ${file}`, { cause: error });
    }
  }
  tls.setDefaultCACertificates([...tls.getCACertificates("default"), ...certificates]);
  return certificates.length;
}
