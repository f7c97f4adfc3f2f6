import { DomainError } from "../../../src/domain/errors.ts";

/** The DomainError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function domainFailure(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError, but the call succeeded");
}
