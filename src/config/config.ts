import { EnvReader } from "./env-reader.ts";
import { parseRoleMapping, type RoleMappingRuleConfig } from "./role-mapping-syntax.ts";
import { isSpiffeIdPattern } from "./spiffe-id-pattern.ts";

/** Every setting Gatehouse reads, parsed once at start-up. Nothing else reads process.env. */
export interface Config {
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** Origins allowed to call from browsers (CORS); empty disables CORS. "*" allows any. */
    readonly corsOrigins: readonly string[];
    /** Proxies in front of Gatehouse whose X-Forwarded-For entries are trusted for the client's address. */
    readonly trustedProxyHops: number;
    /** How long SIGTERM waits for in-flight calls before closing connections. */
    readonly shutdownGraceMs: number;
    /** Serve plain gRPC Check and Health/Check on the lean path (src/server/grpc-fast-path.ts) instead of Connect. */
    readonly grpcFastPath: boolean;
    /** Bounds on what a connection may hold open without making progress (slow clients, slow-loris). */
    readonly connections: ConnectionLimits;
    /** TLS on the API port (ALPN h2 and http/1.1); undefined: cleartext (h2c and HTTP/1.1). */
    readonly tls: TlsConfig | undefined;
    /** A separate plain-HTTP port for /metrics, /healthz and /readyz; undefined: they are on the API port. */
    readonly managementPort: number | undefined;
  };
  /** OpenTelemetry tracing (OTLP over HTTP); undefined: off, and no span is ever made. */
  readonly tracing: TracingConfig | undefined;
  readonly log: { readonly level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent" };
  readonly database: DatabaseConfig;
  /** redis://… to share revocation, rate limits and cache invalidation between replicas. */
  readonly redis: {
    readonly url: string | undefined;
    /** Prefix of every key and channel, so several deployments (or test runs) can share one Redis. */
    readonly keyPrefix: string;
    /** CA bundle (PEM) the server certificate of a rediss:// Redis must chain to; undefined: the system's CAs. */
    readonly tlsCaFile: string | undefined;
  };
  readonly identity: {
    /** Which identity provider runs, with the settings only it has. */
    readonly provider: LocalProviderConfig | KeycloakProviderConfig;
    /** The `iss` of tokens we sign and the base of our discovery document. */
    readonly issuer: string;
    /** The `aud` of the access tokens we issue to users. */
    readonly audience: string;
    readonly accessTokenTtlSeconds: number;
    /**
     * The longest lifetime of any access token the provider issues (ours: ACCESS_TOKEN_TTL_SECONDS;
     * Keycloak's: KEYCLOAK_MAX_TOKEN_LIFETIME_SECONDS): how long a revocation must be remembered.
     */
    readonly longestAccessTokenSeconds: number;
    readonly refreshTokenTtlSeconds: number;
    readonly offlineTokenTtlSeconds: number;
    /** A concurrent refresh with the same token within this window gets the same new pair. */
    readonly refreshGraceSeconds: number;
    /** Absolute lifetime of an online session: refreshes slide its expiry, never past this. */
    readonly sessionMaxLifetimeSeconds: number;
    readonly mfaTokenTtlSeconds: number;
    readonly signupEnabled: boolean;
    readonly emailVerificationRequired: boolean;
    readonly passwordMinLength: number;
    /** Of lower case, upper case, digits and other characters, how many a password must mix (1 = no rule). */
    readonly passwordMinCharacterClasses: number;
    /** The issuer name authenticator apps show next to TOTP codes. */
    readonly mfaIssuer: string;
    /** Where the email-verification link points; the token is appended as ?token=. */
    readonly emailVerificationUrl: string;
    readonly emailVerificationTtlSeconds: number;
    /** Failed sign-ins from sources an account does not know that lock it against them. */
    readonly lockoutThreshold: number;
    /** Failed sign-ins for one account from one source before that source must wait. */
    readonly lockoutSourceThreshold: number;
    readonly lockoutSeconds: number;
    readonly resetTokenTtlSeconds: number;
    /** Where the reset link in the email points; the token is appended as ?token=. */
    readonly passwordResetUrl: string;
    readonly bootstrapAdmin:
      | { readonly username: string; readonly email: string; readonly password: string }
      | undefined;
    /** WebAuthn on the built-in provider (under Keycloak, Keycloak's own applies: `enabled` is false). */
    readonly passkeys: PasskeyConfig;
    /** ADMIN_SECOND_FACTOR: the second factor a session needs for administrative permissions. */
    readonly adminSecondFactor: "off" | "any" | "passkey";
  };
  readonly smtp: { readonly url: string | undefined; readonly from: string };
  /** How the hosted pages (sign-up, password, verification, sign-in) look. */
  readonly branding: BrandingConfig;
  readonly rateLimit: {
    readonly enabled: boolean;
    /** Requests per minute per client IP, for every RPC. */
    readonly perIpPerMinute: number;
    /** Attempts per minute per IP and per account on Login, VerifyMfa, ForgotPassword. */
    readonly sensitivePerMinute: number;
  };
  readonly decision: {
    /** Most verified tokens kept in memory; the bound on the decision cache. */
    readonly tokenCacheSize: number;
    /** Clock skew allowed on exp/nbf. */
    readonly clockSkewSeconds: number;
    /** Most subjects whose access (status and grants) is kept in memory. */
    readonly subjectCacheSize: number;
    /** Upper bound on how long a subject's cached access lives even if no change is heard. */
    readonly subjectCacheTtlSeconds: number;
    /** How often each replica polls the change feed table while Redis pub/sub works (a backstop). */
    readonly feedPollMs: number;
    /** How often it polls while Redis is unreachable: the bound on how late a revocation is heard. */
    readonly degradedFeedPollMs: number;
  };
  /** AuthService.WatchChanges (src/domain/change-feed/change-stream.ts). */
  readonly watchChanges: {
    readonly heartbeatSeconds: number;
    readonly bufferSize: number;
    /** Below the access changes' retention in the change log (an hour), so a replay always has them. */
    readonly maxCursorAgeSeconds: number;
  };
  readonly envoy: {
    readonly userIdHeader: string;
    readonly usernameHeader: string;
    readonly roleHeader: string;
    readonly sessionHeader: string;
    /** host → service slug, for routes that do not name a service in context_extensions. */
    readonly hostServices: ReadonlyMap<string, string>;
  };
  readonly timeouts: DependencyTimeouts;
  readonly vault: {
    /** Key id → 32-byte key. */
    readonly keys: ReadonlyMap<string, Buffer>;
    readonly activeKeyId: string | undefined;
  };
}

export interface BrandingConfig {
  readonly productName: string;
  /** An http(s) URL or a path on our origin; undefined: the product name with a monogram. */
  readonly logoUrl: string | undefined;
  /** #rrggbb; text on it and links are darkened or inverted as needed to stay readable. */
  readonly accentColor: string;
}

function readBranding(read: EnvReader): BrandingConfig {
  const productName = read.string("BRANDING_PRODUCT_NAME", "Gatehouse");
  if (productName.length > 64) read.fail("BRANDING_PRODUCT_NAME must be at most 64 characters");
  const accentColor = read.string("BRANDING_ACCENT_COLOR", "#2f54eb");
  if (!/^#[0-9a-fA-F]{6}$/.test(accentColor)) {
    read.fail(`BRANDING_ACCENT_COLOR must be a colour as #rrggbb (got "${accentColor}")`);
  }
  const logo = read.optionalString("BRANDING_LOGO_URL");
  const logoUrl =
    logo === undefined || logo.startsWith("/") ? logo : read.url("BRANDING_LOGO_URL", ["http:", "https:"]);
  if (logo?.startsWith("//")) read.fail("BRANDING_LOGO_URL must be an http(s) URL or a path");
  return { productName, logoUrl, accentColor: accentColor.toLowerCase() };
}

/** PostgreSQL for replicas, or the embedded PGlite database for one node. */
export type DatabaseConfig =
  | {
      readonly kind: "postgres";
      /** postgres://… */
      readonly url: string;
      readonly poolSize: number;
      /** CA bundle (PEM) the server's certificate must chain to: then TLS is required and verified. */
      readonly sslCaFile?: string | undefined;
    }
  | {
      readonly kind: "embedded";
      /** Where PGlite keeps its files (and, on the built-in provider, a generated key-encryption key). */
      readonly dataDir: string;
    };

/**
 * The key sealing signing keys, TOTP secrets and refresh grace pairs at rest: KEY_ENCRYPTION_KEY
 * (required with PostgreSQL, where replicas share it), or on the embedded defaults one generated
 * into DATA_DIR.
 */
export type KeyEncryptionKeySource =
  | { readonly kind: "configured"; readonly material: string }
  | { readonly kind: "generated"; readonly dataDir: string };

/** The WebAuthn relying party: passkeys are bound to `rpId`, and answers accepted from `origins` only. */
export interface PasskeyConfig {
  readonly enabled: boolean;
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
}

/** IDENTITY_PROVIDER=local: our own password hashing, token signing and sessions. */
export interface LocalProviderConfig {
  readonly kind: "local";
  readonly keyEncryptionKey: KeyEncryptionKeySource;
  /** Days a signing key signs before a new one takes over (the old one stays in the JWKS). */
  readonly signingKeyRotationDays: number;
  /** argon2id cost: memory (KiB), passes, lanes. */
  readonly argon2: {
    readonly memoryKib: number;
    readonly iterations: number;
    readonly parallelism: number;
  };
}

/** IDENTITY_PROVIDER=keycloak: a realm of a Keycloak server, through Gatehouse's confidential client. */
export interface KeycloakProviderConfig {
  readonly kind: "keycloak";
  readonly url: string;
  readonly realm: string;
  /**
   * The realm's public issuer when Keycloak's hostname differs from KEYCLOAK_URL (compose:
   * browsers use localhost, Gatehouse the container name); undefined: KEYCLOAK_URL/realms/<realm>.
   */
  readonly issuer: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  /** "local": verify access tokens against the realm JWKS; "introspection": ask Keycloak each time. */
  readonly verifyMode: "local" | "introspection";
  /** Timeout of every request to Keycloak. */
  readonly timeoutMs: number;
  /** Users per admin-API page in a full sync. */
  readonly syncPageSize: number;
  /** The longest access-token lifetime the realm issues: how long a revoked Keycloak session is remembered. */
  readonly maxTokenLifetimeSeconds: number;
  /** The realm's SSO session idle timeout and max lifespan, to report when sessions expire. */
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  /** How often the realm's admin and user events are polled (one replica polls); 0 turns the poller off. */
  readonly eventsPollMs: number;
  /** The realm's event retention: a cursor older than this means events were lost (a full reconcile runs). */
  readonly eventsRetentionSeconds: number;
  /** Realm clients whose back-channel logout tokens are accepted (the token's `aud`). */
  readonly backchannelLogoutClients: readonly string[];
  /**
   * Realm clients whose sessions Gatehouse manages: Logout accepts their refresh and offline
   * tokens, ListSessions lists their offline sessions, RevokeSession ends them.
   */
  readonly sessionClients: readonly string[];
  /** KEYCLOAK_ROLE_MAPPING: Keycloak groups and realm roles → Gatehouse roles and business roles. */
  readonly roleMapping: readonly RoleMappingRuleConfig[];
  /** PEM CA bundle Keycloak's TLS certificate must chain to (besides the system's CAs); https only. */
  readonly caFile: string | undefined;
}

export interface ConnectionLimits {
  /** A new connection must send its first bytes (enough to tell HTTP/2 from HTTP/1.1) within this. */
  readonly sniffTimeoutMs: number;
  /** HTTP/1.1: the request's headers must arrive within this (Node's headersTimeout). */
  readonly http1HeadersTimeoutMs: number;
  /** HTTP/1.1: the whole request must arrive within this (Node's requestTimeout). */
  readonly http1RequestTimeoutMs: number;
  /** HTTP/1.1: how long an idle keep-alive connection is kept between requests. */
  readonly http1KeepAliveTimeoutMs: number;
  /** HTTP/2: a session with no frames for this long is sent GOAWAY (its open streams may finish). */
  readonly http2IdleTimeoutMs: number;
  /** HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS advertised to every client. */
  readonly http2MaxConcurrentStreams: number;
}

// --- Dependency deadlines (issue #12): a hung Redis or PostgreSQL answers UNAVAILABLE, never hangs a call.
export interface DependencyTimeouts {
  /** Per Redis command (ioredis commandTimeout); a timeout also marks Redis unreachable. */
  readonly redisCommandMs: number;
  /** Per SQL statement: PostgreSQL's statement_timeout, and the client's own read timeout just past it. */
  readonly databaseStatementMs: number;
  /** Waiting for a pooled connection (or opening one). */
  readonly databaseAcquireMs: number;
  /** /readyz and the health service answer "not ready" when the database check takes longer. */
  readonly readinessMs: number;
}

function readDependencyTimeouts(read: EnvReader): DependencyTimeouts {
  return {
    redisCommandMs: read.int("REDIS_COMMAND_TIMEOUT_MS", 1000, { min: 10, max: 60_000 }),
    databaseStatementMs: read.int("DATABASE_STATEMENT_TIMEOUT_MS", 5000, { min: 10, max: 600_000 }),
    databaseAcquireMs: read.int("DATABASE_ACQUIRE_TIMEOUT_MS", 3000, { min: 10, max: 60_000 }),
    readinessMs: read.int("READINESS_TIMEOUT_MS", 1000, { min: 10, max: 60_000 }),
  };
}
// --- end of dependency deadlines

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle client certificates must chain to (mTLS); required unless clientAuth is "none". */
  readonly clientCaFile: string | undefined;
  /** "none": no client certificate asked; "optional": asked, and verified when one is sent; "require": refused without one. */
  readonly clientAuth: "none" | "optional" | "require";
  /** How often the certificate, key and CA files are checked for changes (reloaded without restart). */
  readonly reloadIntervalMs: number;
  /**
   * SPIFFE ids (or `…/*` prefixes) of the workloads allowed to call Check, read from their
   * verified client certificates; undefined: any caller may.
   */
  readonly checkCallers: readonly string[] | undefined;
}

export interface TracingConfig {
  /** Where spans are exported (OTLP over HTTP, JSON): the collector's /v1/traces URL. */
  readonly tracesUrl: string;
  readonly serviceName: string;
  /** Share of new traces recorded (0–1); a caller's sampled trace is always continued. */
  readonly sampleRatio: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const HEADER_NAME = /^[a-z0-9-]+$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * PASSKEY_*: the relying party id defaults to the issuer's host name and the
 * origins to the issuer's origin; every origin must be the RP id or one of its
 * subdomains (WebAuthn's rule), or browsers would refuse every ceremony.
 */
function readPasskeys(read: EnvReader, provider: "local" | "keycloak", issuer: string): PasskeyConfig {
  let issuerUrl: URL | undefined;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    issuerUrl = undefined;
  }
  const enabled = read.bool("PASSKEYS_ENABLED", provider === "local") && provider === "local";
  const rpId = read.string("PASSKEY_RP_ID", issuerUrl?.hostname ?? "localhost").toLowerCase();
  const rpName = read.string("PASSKEY_RP_NAME", "Gatehouse");
  const origins = read
    .list("PASSKEY_ORIGINS", issuerUrl === undefined ? [] : [issuerUrl.origin])
    .map((origin) => origin.replace(/\/+$/, ""));
  if (!enabled) return { enabled, rpId, rpName, origins };
  if (!HOSTNAME.test(rpId)) read.fail(`PASSKEY_RP_ID must be a host name (got "${rpId}")`);
  if (origins.length === 0) read.fail("PASSKEY_ORIGINS must name at least one origin");
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin || !["http:", "https:"].includes(parsed.protocol)) {
      read.fail(`PASSKEY_ORIGINS: "${origin}" is not an http(s) origin (scheme://host[:port])`);
    } else if (parsed.hostname !== rpId && !parsed.hostname.endsWith(`.${rpId}`)) {
      read.fail(`PASSKEY_ORIGINS: "${origin}" is not on PASSKEY_RP_ID "${rpId}" or a subdomain of it`);
    }
  }
  return { enabled, rpId, rpName, origins };
}

function readAdminSecondFactor(read: EnvReader, provider: "local" | "keycloak"): "off" | "any" | "passkey" {
  const policy = read.oneOf("ADMIN_SECOND_FACTOR", ["off", "any", "passkey"] as const, "off");
  if (policy !== "off" && provider === "keycloak") {
    read.fail(
      "ADMIN_SECOND_FACTOR applies to the built-in provider; under Keycloak, require it in the realm's flows",
    );
  }
  return policy;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const read = new EnvReader(env);
  const port = read.int("PORT", 8080, { min: 0, max: 65535 });
  const host = read.string("HOST", "0.0.0.0");
  const provider = read.oneOf("IDENTITY_PROVIDER", ["local", "keycloak"] as const, "local");

  const bootstrapUsername = read.optionalString("BOOTSTRAP_ADMIN_USERNAME");
  const bootstrapEmail = read.optionalString("BOOTSTRAP_ADMIN_EMAIL");
  const bootstrapPassword = read.optionalString("BOOTSTRAP_ADMIN_PASSWORD");
  const bootstrapGiven = [bootstrapUsername, bootstrapEmail, bootstrapPassword].filter(
    (v) => v !== undefined,
  );
  if (bootstrapGiven.length > 0 && bootstrapGiven.length < 3) {
    read.fail(
      "BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together",
    );
  }

  const database = readDatabase(read);
  const providerConfig = provider === "keycloak" ? readKeycloak(read) : readLocalProvider(read, database);
  const accessTokenTtlSeconds = read.int("ACCESS_TOKEN_TTL_SECONDS", 300, { min: 1, max: 86_400 });

  const headers = {
    userIdHeader: read.string("ENVOY_USER_ID_HEADER", "x-gatehouse-user-id").toLowerCase(),
    usernameHeader: read.string("ENVOY_USERNAME_HEADER", "x-gatehouse-username").toLowerCase(),
    roleHeader: read.string("ENVOY_ROLE_HEADER", "x-gatehouse-service-role").toLowerCase(),
    sessionHeader: read.string("ENVOY_SESSION_HEADER", "x-gatehouse-session-id").toLowerCase(),
  };
  for (const [key, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(value)) read.fail(`${key} must be a lower-case header name (got "${value}")`);
  }

  // The mailed links point at the public URL (the issuer), not at this process's port.
  const issuer = read.string("ISSUER", `http://localhost:${port}`).replace(/\/+$/, "");

  const config: Config = {
    server: {
      host,
      port,
      corsOrigins: read.list("CORS_ORIGINS", []),
      trustedProxyHops: read.int("TRUSTED_PROXY_HOPS", 0, { min: 0, max: 10 }),
      shutdownGraceMs: read.int("SHUTDOWN_GRACE_MS", 10_000, { min: 0, max: 600_000 }),
      grpcFastPath: read.bool("GRPC_FAST_PATH", true),
      connections: readConnectionLimits(read),
      tls: readTls(read),
      managementPort: readManagementPort(read, port),
    },
    tracing: readTracing(read),
    log: {
      level: read.oneOf(
        "LOG_LEVEL",
        ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const,
        "info",
      ),
    },
    database,
    redis: {
      url: read.url("REDIS_URL", ["redis:", "rediss:"]),
      keyPrefix: read.string("REDIS_KEY_PREFIX", "gatehouse:"),
      tlsCaFile: readRedisTlsCa(read),
    },
    identity: {
      provider: providerConfig,
      issuer,
      audience: read.string("TOKEN_AUDIENCE", "gatehouse"),
      accessTokenTtlSeconds,
      longestAccessTokenSeconds:
        providerConfig.kind === "keycloak" ? providerConfig.maxTokenLifetimeSeconds : accessTokenTtlSeconds,
      refreshTokenTtlSeconds: read.int("REFRESH_TOKEN_TTL_SECONDS", 7 * 86_400, {
        min: 60,
        max: 365 * 86_400,
      }),
      offlineTokenTtlSeconds: read.int("OFFLINE_TOKEN_TTL_SECONDS", 30 * 86_400, {
        min: 60,
        max: 3 * 365 * 86_400,
      }),
      refreshGraceSeconds: read.int("REFRESH_GRACE_SECONDS", 5, { min: 0, max: 60 }),
      sessionMaxLifetimeSeconds: read.int("SESSION_MAX_LIFETIME_SECONDS", 30 * 86_400, {
        min: 1,
        max: 3 * 365 * 86_400,
      }),
      mfaTokenTtlSeconds: read.int("MFA_TOKEN_TTL_SECONDS", 300, { min: 30, max: 1800 }),
      signupEnabled: read.bool("SIGNUP_ENABLED", true),
      emailVerificationRequired: read.bool("EMAIL_VERIFICATION_REQUIRED", false),
      passwordMinLength: read.int("PASSWORD_MIN_LENGTH", 10, { min: 8, max: 128 }),
      passwordMinCharacterClasses: read.int("PASSWORD_MIN_CHARACTER_CLASSES", 1, { min: 1, max: 4 }),
      mfaIssuer: read.string("MFA_ISSUER", "Gatehouse"),
      emailVerificationUrl: read.string("EMAIL_VERIFICATION_URL", `${issuer}/verify-email`),
      emailVerificationTtlSeconds: read.int("EMAIL_VERIFICATION_TTL_SECONDS", 86_400, {
        min: 60,
        max: 30 * 86_400,
      }),
      lockoutThreshold: read.int("LOCKOUT_THRESHOLD", 5, { min: 1, max: 100 }),
      lockoutSourceThreshold: read.int("LOCKOUT_SOURCE_THRESHOLD", 5, { min: 1, max: 100 }),
      lockoutSeconds: read.int("LOCKOUT_SECONDS", 900, { min: 1, max: 86_400 }),
      resetTokenTtlSeconds: read.int("RESET_TOKEN_TTL_SECONDS", 3600, { min: 60, max: 86_400 }),
      passwordResetUrl: read.string("PASSWORD_RESET_URL", `${issuer}/reset-password`),
      bootstrapAdmin:
        bootstrapGiven.length === 3
          ? { username: bootstrapUsername!, email: bootstrapEmail!, password: bootstrapPassword! }
          : undefined,
      passkeys: readPasskeys(read, provider, issuer),
      adminSecondFactor: readAdminSecondFactor(read, provider),
    },
    smtp: {
      url: read.url("SMTP_URL", ["smtp:", "smtps:"]),
      from: read.string("SMTP_FROM", "Gatehouse <noreply@gatehouse.local>"),
    },
    branding: readBranding(read),
    rateLimit: {
      enabled: read.bool("RATE_LIMIT_ENABLED", true),
      perIpPerMinute: read.int("RATE_LIMIT_PER_IP_PER_MINUTE", 600, { min: 1, max: 10_000_000 }),
      sensitivePerMinute: read.int("RATE_LIMIT_SENSITIVE_PER_MINUTE", 10, { min: 1, max: 100_000 }),
    },
    decision: {
      tokenCacheSize: read.int("DECISION_CACHE_SIZE", 100_000, { min: 0, max: 10_000_000 }),
      clockSkewSeconds: read.int("CLOCK_SKEW_SECONDS", 30, { min: 0, max: 300 }),
      subjectCacheSize: read.int("DECISION_SUBJECT_CACHE_SIZE", 50_000, { min: 1, max: 10_000_000 }),
      subjectCacheTtlSeconds: read.int("DECISION_SUBJECT_CACHE_TTL_SECONDS", 300, { min: 1, max: 86_400 }),
      feedPollMs: read.int("CHANGE_FEED_POLL_MS", 5000, { min: 50, max: 600_000 }),
      degradedFeedPollMs: read.int("CHANGE_FEED_DEGRADED_POLL_MS", 500, { min: 50, max: 60_000 }),
    },
    watchChanges: {
      heartbeatSeconds: read.int("WATCH_CHANGES_HEARTBEAT_SECONDS", 10, { min: 1, max: 300 }),
      bufferSize: read.int("WATCH_CHANGES_BUFFER", 1000, { min: 1, max: 1_000_000 }),
      maxCursorAgeSeconds: read.int("WATCH_CHANGES_MAX_CURSOR_AGE_SECONDS", 1800, { min: 1, max: 3000 }),
    },
    envoy: { ...headers, hostServices: parseHostServices(read) },
    timeouts: readDependencyTimeouts(read),
    vault: parseVaultKeys(read),
  };

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

function readDatabase(read: EnvReader): DatabaseConfig {
  const url = read.url("DATABASE_URL", ["postgres:", "postgresql:"]);
  const dataDir = read.string("DATA_DIR", "./data");
  // At least 2: a vault mint holds one connection while the refresh it makes needs another.
  const poolSize = read.int("DATABASE_POOL_SIZE", 10, { min: 2, max: 200 });
  const sslCaFile = read.optionalString("DATABASE_SSL_CA_FILE");
  if (sslCaFile !== undefined && url === undefined) read.fail("DATABASE_SSL_CA_FILE needs DATABASE_URL");
  return url === undefined ? { kind: "embedded", dataDir } : { kind: "postgres", url, poolSize, sslCaFile };
}

function readLocalProvider(read: EnvReader, database: DatabaseConfig): LocalProviderConfig {
  const material = readKeyEncryptionKey(read);
  if (material === undefined && database.kind === "postgres") {
    read.fail(
      "KEY_ENCRYPTION_KEY is required with DATABASE_URL: every replica must open the signing keys and TOTP secrets sealed with it",
    );
  }
  return {
    kind: "local",
    keyEncryptionKey:
      material !== undefined
        ? { kind: "configured", material }
        : { kind: "generated", dataDir: database.kind === "embedded" ? database.dataDir : "" },
    signingKeyRotationDays: read.int("SIGNING_KEY_ROTATION_DAYS", 30, { min: 1, max: 365 }),
    argon2: {
      // OWASP's baseline for argon2id: 19 MiB, 2 passes, 1 lane.
      memoryKib: read.int("ARGON2_MEMORY_KIB", 19_456, { min: 1024, max: 4_194_304 }),
      iterations: read.int("ARGON2_ITERATIONS", 2, { min: 1, max: 100 }),
      parallelism: read.int("ARGON2_PARALLELISM", 1, { min: 1, max: 16 }),
    },
  };
}

/** 0 turns the poller off; below 100 ms it would poll Keycloak's admin API in a hot loop. */
function readEventsPollMs(read: EnvReader): number {
  const value = read.int("KEYCLOAK_EVENTS_POLL_MS", 2000, { min: 0, max: 3_600_000 });
  if (value > 0 && value < 100) read.fail("KEYCLOAK_EVENTS_POLL_MS must be 0 (off) or at least 100");
  return value;
}

function readKeycloak(read: EnvReader): KeycloakProviderConfig {
  const url = read.url("KEYCLOAK_URL", ["http:", "https:"]);
  const clientSecret = read.optionalString("KEYCLOAK_CLIENT_SECRET");
  if (url === undefined || clientSecret === undefined) {
    read.fail("IDENTITY_PROVIDER=keycloak needs KEYCLOAK_URL and KEYCLOAK_CLIENT_SECRET");
  }
  return {
    kind: "keycloak",
    url: (url ?? "").replace(/\/+$/, ""),
    realm: read.string("KEYCLOAK_REALM", "gatehouse"),
    issuer: read.url("KEYCLOAK_ISSUER", ["http:", "https:"])?.replace(/\/+$/, ""),
    clientId: read.string("KEYCLOAK_CLIENT_ID", "gatehouse-backend"),
    clientSecret: clientSecret ?? "",
    verifyMode: read.oneOf("KEYCLOAK_VERIFY_MODE", ["local", "introspection"] as const, "local"),
    timeoutMs: read.int("KEYCLOAK_TIMEOUT_MS", 5000, { min: 100, max: 120_000 }),
    syncPageSize: read.int("KEYCLOAK_SYNC_PAGE_SIZE", 100, { min: 1, max: 1000 }),
    maxTokenLifetimeSeconds: read.int("KEYCLOAK_MAX_TOKEN_LIFETIME_SECONDS", 3600, {
      min: 60,
      max: 86_400,
    }),
    sessionIdleSeconds: read.int("KEYCLOAK_SESSION_IDLE_SECONDS", 1800, { min: 60, max: 31_536_000 }),
    sessionMaxSeconds: read.int("KEYCLOAK_SESSION_MAX_SECONDS", 36_000, { min: 60, max: 31_536_000 }),
    eventsPollMs: readEventsPollMs(read),
    eventsRetentionSeconds: read.int("KEYCLOAK_EVENTS_RETENTION_SECONDS", 604_800, {
      min: 60,
      max: 31_536_000,
    }),
    caFile: readKeycloakCaFile(read, url),
    backchannelLogoutClients: read.list("KEYCLOAK_BACKCHANNEL_LOGOUT_CLIENTS", [
      read.string("KEYCLOAK_CLIENT_ID", "gatehouse-backend"),
      "gatehouse-web",
    ]),
    sessionClients: read.list("KEYCLOAK_SESSION_CLIENTS", [
      read.string("KEYCLOAK_CLIENT_ID", "gatehouse-backend"),
      "gatehouse-web",
    ]),
    roleMapping: readRoleMapping(read),
  };
}

function readRoleMapping(read: EnvReader): RoleMappingRuleConfig[] {
  const { rules, problems } = parseRoleMapping(read.string("KEYCLOAK_ROLE_MAPPING", ""));
  for (const problem of problems) read.fail(`KEYCLOAK_ROLE_MAPPING: ${problem}`);
  return rules;
}

function readKeycloakCaFile(read: EnvReader, url: string | undefined): string | undefined {
  const caFile = read.optionalString("KEYCLOAK_CA_FILE");
  if (caFile !== undefined && url !== undefined && !url.startsWith("https:"))
    read.fail("KEYCLOAK_CA_FILE needs an https:// KEYCLOAK_URL");
  return caFile;
}

function readConnectionLimits(read: EnvReader): ConnectionLimits {
  const limits: ConnectionLimits = {
    sniffTimeoutMs: read.int("CONNECTION_SNIFF_TIMEOUT_MS", 10_000, { min: 1, max: 600_000 }),
    http1HeadersTimeoutMs: read.int("HTTP1_HEADERS_TIMEOUT_MS", 20_000, { min: 1, max: 600_000 }),
    http1RequestTimeoutMs: read.int("HTTP1_REQUEST_TIMEOUT_MS", 60_000, { min: 1, max: 3_600_000 }),
    // Above the 60 s idle timeout of common load balancers, so they, not we, close idle connections.
    http1KeepAliveTimeoutMs: read.int("HTTP1_KEEP_ALIVE_TIMEOUT_MS", 65_000, { min: 1, max: 3_600_000 }),
    http2IdleTimeoutMs: read.int("HTTP2_IDLE_TIMEOUT_MS", 300_000, { min: 1, max: 86_400_000 }),
    http2MaxConcurrentStreams: read.int("HTTP2_MAX_CONCURRENT_STREAMS", 256, { min: 1, max: 100_000 }),
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.http1HeadersTimeoutMs > limits.http1RequestTimeoutMs) {
    read.fail("HTTP1_HEADERS_TIMEOUT_MS must not exceed HTTP1_REQUEST_TIMEOUT_MS");
  }
  return limits;
}

function readTls(read: EnvReader): TlsConfig | undefined {
  const certFile = read.optionalString("TLS_CERT_FILE");
  const keyFile = read.optionalString("TLS_KEY_FILE");
  const clientCaFile = read.optionalString("TLS_CLIENT_CA_FILE");
  const clientAuth = read.oneOf(
    "TLS_CLIENT_AUTH",
    ["none", "optional", "require"] as const,
    clientCaFile === undefined ? "none" : "require",
  );
  const reloadIntervalMs = read.int("TLS_RELOAD_INTERVAL_MS", 10_000, { min: 10, max: 3_600_000 });
  const checkCallers = read
    .optionalString("CHECK_ALLOWED_SPIFFE_IDS")
    ?.split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of checkCallers ?? []) {
    if (!isSpiffeIdPattern(entry))
      read.fail(
        `CHECK_ALLOWED_SPIFFE_IDS: "${entry}" is not a SPIFFE id (spiffe://trust-domain/path, or a prefix ending in /*)`,
      );
  }
  if (checkCallers !== undefined && clientAuth === "none")
    read.fail(
      "CHECK_ALLOWED_SPIFFE_IDS needs client certificates: TLS_CLIENT_CA_FILE (and TLS_CLIENT_AUTH optional or require)",
    );
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined || clientAuth !== "none") {
      read.fail("TLS_CLIENT_CA_FILE and TLS_CLIENT_AUTH need TLS_CERT_FILE and TLS_KEY_FILE");
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    read.fail("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
    return undefined;
  }
  if (clientAuth !== "none" && clientCaFile === undefined) {
    read.fail(`TLS_CLIENT_AUTH=${clientAuth} needs TLS_CLIENT_CA_FILE`);
  }
  return { certFile, keyFile, clientCaFile, clientAuth, reloadIntervalMs, checkCallers };
}

function readRedisTlsCa(read: EnvReader): string | undefined {
  const caFile = read.optionalString("REDIS_TLS_CA_FILE");
  const url = read.optionalString("REDIS_URL");
  if (caFile !== undefined && !(url ?? "").startsWith("rediss:")) {
    read.fail("REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL");
  }
  return caFile;
}

function readTracing(read: EnvReader): TracingConfig | undefined {
  const tracesUrl = read.url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ["http:", "https:"]);
  const baseUrl = read.url("OTEL_EXPORTER_OTLP_ENDPOINT", ["http:", "https:"]);
  const serviceName = read.string("OTEL_SERVICE_NAME", "gatehouse");
  const ratioText = read.string("TRACING_SAMPLE_RATIO", "1");
  const sampleRatio = Number(ratioText);
  if (!Number.isFinite(sampleRatio) || sampleRatio < 0 || sampleRatio > 1) {
    read.fail(`TRACING_SAMPLE_RATIO must be a number from 0 to 1 (got "${ratioText}")`);
  }
  // As the OpenTelemetry spec says: the signal-specific URL is used as is, the base one gets /v1/traces.
  const url = tracesUrl ?? (baseUrl === undefined ? undefined : `${baseUrl.replace(/\/+$/, "")}/v1/traces`);
  return url === undefined ? undefined : { tracesUrl: url, serviceName, sampleRatio };
}

function readManagementPort(read: EnvReader, apiPort: number): number | undefined {
  if (read.optionalString("MANAGEMENT_PORT") === undefined) return undefined;
  const port = read.int("MANAGEMENT_PORT", 0, { min: 0, max: 65535 });
  if (port !== 0 && port === apiPort) read.fail("MANAGEMENT_PORT must differ from PORT");
  return port;
}

/** KEY_ENCRYPTION_KEY: 32 bytes, as 64 hex characters or base64. */
function readKeyEncryptionKey(read: EnvReader): string | undefined {
  const material = read.optionalString("KEY_ENCRYPTION_KEY");
  if (material === undefined) return undefined;
  const bytes = /^[0-9a-fA-F]{64}$/.test(material) ? 32 : Buffer.from(material, "base64").length;
  if (bytes !== 32) {
    read.fail("KEY_ENCRYPTION_KEY must be 32 bytes (64 hex characters or base64)");
    return undefined;
  }
  return material;
}

function parseHostServices(read: EnvReader): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of read.list("ENVOY_HOST_SERVICES", [])) {
    const [hostName, slug] = pair.split("=");
    if (!hostName || !slug) {
      read.fail(`ENVOY_HOST_SERVICES entries must look like host=service-slug (got "${pair}")`);
      continue;
    }
    map.set(hostName.toLowerCase(), slug);
  }
  return map;
}

/**
 * VAULT_KEYS="k1:<64 hex chars or base64 of 32 bytes>,k2:…", VAULT_ACTIVE_KEY=k2.
 * The seed's single AUTH_MANAGER_TOKEN_VAULT_ENCRYPTION_KEY (64 hex) is accepted as key id "default".
 */
function parseVaultKeys(read: EnvReader): Config["vault"] {
  const keys = new Map<string, Buffer>();
  const addKey = (id: string, material: string, variable: string) => {
    const key = /^[0-9a-fA-F]{64}$/.test(material)
      ? Buffer.from(material, "hex")
      : Buffer.from(material, "base64");
    if (key.length !== 32) {
      read.fail(`${variable}: key "${id}" must be 32 bytes (64 hex characters or base64)`);
      return;
    }
    keys.set(id, key);
  };
  for (const entry of read.list("VAULT_KEYS", [])) {
    const separator = entry.indexOf(":");
    if (separator <= 0) {
      read.fail('VAULT_KEYS entries must look like "<key id>:<key>"');
      continue;
    }
    addKey(entry.slice(0, separator), entry.slice(separator + 1), "VAULT_KEYS");
  }
  const legacy = read.optionalString("AUTH_MANAGER_TOKEN_VAULT_ENCRYPTION_KEY");
  if (legacy !== undefined) addKey("default", legacy, "AUTH_MANAGER_TOKEN_VAULT_ENCRYPTION_KEY");
  const activeKeyId =
    read.optionalString("VAULT_ACTIVE_KEY") ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  if (activeKeyId !== undefined && !keys.has(activeKeyId)) {
    read.fail(`VAULT_ACTIVE_KEY names "${activeKeyId}", which is not in VAULT_KEYS`);
  }
  if (keys.size > 1 && activeKeyId === undefined) read.fail("VAULT_ACTIVE_KEY must name one of VAULT_KEYS");
  return { keys, activeKeyId };
}
