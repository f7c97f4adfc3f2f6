import { create, createRegistry, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { file_gatehouse_v1_validation } from "../gen/gatehouse/v1/validation_pb.js";
import type { FormErrors } from "../server/pages/form.ts";

const validator = createValidator({ registry: createRegistry(file_gatehouse_v1_validation) });

/**
 * The protovalidate rules of the RPC's request message, applied to a form's
 * fields: a form is held to exactly what the RPC accepts (lengths, patterns,
 * email syntax), with each violation under the field's proto name.
 */
export function checkAsRequest<Desc extends DescMessage>(
  schema: Desc,
  fields: MessageInitShape<Desc>,
): FormErrors {
  const result = validator.validate(schema, create(schema, fields));
  if (result.kind === "valid") return { fields: new Map(), form: [] };
  if (result.kind === "error") throw result.error;
  const byField = new Map<string, string>();
  for (const violation of result.violations) {
    const name = pathToString(violation.field);
    if (!byField.has(name)) byField.set(name, violation.message);
  }
  return { fields: byField, form: [] };
}
