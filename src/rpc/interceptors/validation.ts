import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import type { Interceptor } from "@connectrpc/connect";
import { DomainError } from "../../domain/errors.ts";

/**
 * Enforces the protovalidate rules written in our protos on every unary
 * request before any handler runs: a violation is INVALID_ARGUMENT with a
 * BadRequest detail naming each bad field.
 */
export function validationInterceptor(): Interceptor {
  const validator = createValidator();
  return (next) => async (request) => {
    if (!request.stream) {
      const result = validator.validate(request.method.input, request.message);
      if (result.kind === "invalid") {
        const violations = result.violations.map((violation) => ({
          field: pathToString(violation.field),
          description: violation.message,
        }));
        const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
        throw new DomainError("invalid_argument", "invalid_request", `invalid request: ${summary}`, {
          violations,
        });
      }
      if (result.kind === "error") {
        throw new DomainError("internal", "validation_rule_error", "request validation failed", {
          cause: result.error,
        });
      }
    }
    return next(request);
  };
}
