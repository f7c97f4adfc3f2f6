import type { Interceptor } from "@connectrpc/connect";
import { createRequestValidator, type RequestValidator } from "./request-validator.ts";

/**
 * Enforces the protovalidate rules written in our protos on every unary
 * request before any handler runs: a violation is INVALID_ARGUMENT with a
 * BadRequest detail naming each bad field.
 */
export function validationInterceptor(validate: RequestValidator = createRequestValidator()): Interceptor {
  return (next) => async (request) => {
    if (!request.stream) validate(request.method.input, request.message);
    return next(request);
  };
}
