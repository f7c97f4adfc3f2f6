/** An RBAC role: a named bundle of Gatehouse permissions. */
export interface Role {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly permissions: readonly string[];
  readonly builtIn: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A grant of a role on a registered service. */
export interface ServiceGrant {
  readonly serviceId: string;
  readonly role: string;
}

/** A bundle of service grants, e.g. "support agent" = viewer on billing + editor on tickets. */
export interface BusinessRole {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly grants: readonly ServiceGrant[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
