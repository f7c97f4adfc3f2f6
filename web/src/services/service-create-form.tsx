import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError } from "../api/describe-error.ts";
import { nameRule, problems, slugRule } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/** CreateService with the default roles (viewer < editor < owner). */
export function ServiceCreateForm() {
  const invalidate = useInvalidate();
  const [slug, setSlug] = useState("");
  const [displayName, setDisplayName] = useState("");
  const create = useMutation(ServiceRegistryService.method.createService, {
    onSuccess: async () => {
      setSlug("");
      setDisplayName("");
      await invalidate(ServiceRegistryService);
    },
  });
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const errors = local.size > 0 || create.error === null ? local : describeError(create.error).fields;
  return (
    <form
      noValidate
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        const found = problems({ slug: slugRule(slug), display_name: nameRule(displayName || slug) });
        setLocal(found);
        if (found.size === 0) create.mutate({ slug, displayName: displayName || slug });
      }}
    >
      <TextField
        label="New service slug"
        value={slug}
        onChange={setSlug}
        error={errors.get("slug")}
        hint="Lower case, digits and -"
      />
      <TextField
        label="Display name"
        value={displayName}
        onChange={setDisplayName}
        error={errors.get("display_name")}
      />
      <Button type="submit" busy={create.isPending}>
        Register service
      </Button>
      {create.error === null || errors.size > 0 ? null : <ErrorState error={create.error} />}
    </form>
  );
}
