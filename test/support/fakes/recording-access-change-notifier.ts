import type { AccessChangeNotifier } from "../../../src/domain/ports/access-changes.ts";

/** Remembers what was announced: subject ids, and "*" for every subject. */
export class RecordingAccessChangeNotifier implements AccessChangeNotifier {
  readonly announced: string[] = [];

  async subjectChanged(subjectId: string): Promise<void> {
    this.announced.push(subjectId);
  }

  async everySubjectChanged(): Promise<void> {
    this.announced.push("*");
  }
}
