import { Button } from "./button.tsx";
import { type HoldersFilter, HoldersList } from "./holders-list.tsx";
import { Section } from "./section.tsx";

/** A card listing who holds one role (RBAC or business), opened from the role's row and closed again. */
export function HoldersSection(props: {
  name: string;
  id: string;
  filter: HoldersFilter;
  onClose: () => void;
}) {
  return (
    <Section title={`Users holding ${props.name}`} actions={<Button onClick={props.onClose}>Close</Button>}>
      <HoldersList key={props.id} filter={props.filter} label={`Holders of ${props.name}`} />
    </Section>
  );
}

/** The row button that opens this card for its role, and closes it when pressed again. */
export function HoldersToggle(props: { name: string; open: boolean; onToggle: () => void }) {
  return (
    <Button
      variant="ghost"
      aria-label={`Holders of ${props.name}`}
      aria-pressed={props.open}
      onClick={props.onToggle}
    >
      Holders
    </Button>
  );
}
