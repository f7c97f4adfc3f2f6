import type { ServiceRecord } from "../../../src/domain/registry/service-record.ts";

/** A registered service for decision tests: `billing`, active, roles viewer < editor < owner. */
export const serviceRecord = (overrides: Partial<ServiceRecord> = {}): ServiceRecord => ({
  id: "svc-a",
  slug: "billing",
  displayName: "Billing",
  description: "",
  audience: "billing",
  status: "active",
  roles: ["viewer", "editor", "owner"],
  hosts: ["billing.internal"],
  createdAt: new Date(0),
  updatedAt: new Date(0),
  version: 1,
  ...overrides,
});
