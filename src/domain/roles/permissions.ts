/**
 * Every permission Gatehouse knows, with what it allows. The built-in `admin`
 * role holds them all. Acting on an account also needs holding everything it
 * holds (privilege-ceiling.ts): "within reach" is an account holding nothing
 * the caller lacks.
 */
export const PERMISSIONS = [
  { name: "users.read", description: "Read users, their grants and the Keycloak sync status" },
  {
    name: "users.write",
    description: "Create users; update, disable and delete those within reach and set their passwords",
  },
  { name: "users.sync", description: "Synchronise users with Keycloak" },
  { name: "roles.read", description: "Read RBAC roles, business roles and the permission catalogue" },
  { name: "roles.write", description: "Create, update and delete RBAC roles and business roles" },
  {
    name: "roles.assign",
    description:
      "Set the RBAC roles and business roles of users within reach, handing out only what one holds",
  },
  { name: "services.read", description: "Read registered services and service accounts" },
  {
    name: "services.write",
    description: "Register, change and remove services, and service accounts within reach",
  },
  {
    name: "grants.write",
    description: "Set the grants on services of users and service accounts within reach",
  },
  { name: "clients.read", description: "Read the OIDC clients (relying parties) of the built-in provider" },
  {
    name: "clients.write",
    description: "Register, change and remove OIDC clients, and rotate their secrets",
  },
  { name: "audit.read", description: "Read the audit log" },
  { name: "vault.read", description: "Read other users' token vault entries and sessions" },
  {
    name: "vault.write",
    description: "Act on the token vault entries and sessions of other users within reach",
  },
] as const;

export type Permission = (typeof PERMISSIONS)[number]["name"];

export const PERMISSION_NAMES: readonly string[] = PERMISSIONS.map((permission) => permission.name);

export const isPermission = (name: string): name is Permission => PERMISSION_NAMES.includes(name);

/** The built-in roles: `admin` holds every permission, `user` none (every sign-up gets it). */
export const ADMIN_ROLE = "admin";
export const USER_ROLE = "user";
