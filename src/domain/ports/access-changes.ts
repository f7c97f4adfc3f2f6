/**
 * Told when something a subject's access depends on changes (status, RBAC
 * roles, business roles, a business role's grants, a service account's
 * state), so that caches elsewhere — the decision engine's — drop it on every
 * replica. The default does nothing.
 */
export interface AccessChangeNotifier {
  subjectChanged(subjectId: string): Promise<void>;
  /** E.g. a business role's grants changed: every holder is affected. */
  everySubjectChanged(): Promise<void>;
}

export const IGNORE_ACCESS_CHANGES: AccessChangeNotifier = {
  async subjectChanged() {},
  async everySubjectChanged() {},
};

/** One written service: its id and the registry change number of the write (a deletion's included). */
export interface ServiceChange {
  readonly serviceId: string;
  readonly version: number;
}

/** The service registry's changes: a service's roles, hosts or status, which every replica's directory must see. */
export interface RegistryChangeNotifier extends AccessChangeNotifier {
  servicesChanged(change: ServiceChange): Promise<void>;
}
