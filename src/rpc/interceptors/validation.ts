import type { Interceptor } from "@connectrpc/connect";
import { createRequestValidator, type RequestValidator } from "./request-validator.ts";

/**
 * Enforces the protovalidate rules written in our protos on every request
 * message before a handler sees it: a violation is INVALID_ARGUMENT with a
 * BadRequest detail naming each bad field.
 */
export function validationInterceptor(validate: RequestValidator = createRequestValidator()): Interceptor {
  return (next) => async (request) => {
    if (!request.stream) {
      validate(request.method.input, request.message);
      return next(request);
    }
    // Streaming requests (WatchChanges): each message is checked as the handler reads it.
    const input = request.message;
    const schema = request.method.input;
    return next({
      ...request,
      message: (async function* () {
        for await (const message of input) {
          validate(schema, message);
          yield message;
        }
      })(),
    });
  };
}
