import type { MigrationInterface } from "typeorm";
import { Services1763800000000 } from "./1763800000000-services.ts";
import { ChangeEvents1763800000500 } from "./1763800000500-change-events.ts";
import { Identity1763800001000 } from "./1763800001000-identity.ts";
import { ServiceGrants1763800002000 } from "./1763800002000-service-grants.ts";
import { KeycloakSync1763800003000 } from "./1763800003000-keycloak-sync.ts";
import { TokenVault1763800004000 } from "./1763800004000-token-vault.ts";
import { SessionLastSeen1763800005500 } from "./1763800005500-session-last-seen.ts";
import { KeycloakEvents1763800006000 } from "./1763800006000-keycloak-events.ts";
import { OidcClients1763800007000 } from "./1763800007000-oidc-clients.ts";
import { OidcSessionClients1763800007200 } from "./1763800007200-oidc-session-clients.ts";
import { OpenIdProvider1763800007500 } from "./1763800007500-openid-provider.ts";
import { KeycloakSyncTimes1763800008000 } from "./1763800008000-keycloak-sync-times.ts";
import { Passkeys1763800009000 } from "./1763800009000-passkeys.ts";

/**
 * Every migration, in order. Migrations are plain SQL that PostgreSQL and
 * PGlite both run; ids use gen_random_uuid() (built in since PostgreSQL 13)
 * because PGlite has neither uuid-ossp nor pgcrypto.
 */
export const migrations: Array<new () => MigrationInterface> = [
  Services1763800000000,
  ChangeEvents1763800000500,
  Identity1763800001000,
  ServiceGrants1763800002000,
  KeycloakSync1763800003000,
  TokenVault1763800004000,
  SessionLastSeen1763800005500,
  KeycloakEvents1763800006000,
  OidcClients1763800007000,
  OidcSessionClients1763800007200,
  OpenIdProvider1763800007500,
  KeycloakSyncTimes1763800008000,
  Passkeys1763800009000,
];
