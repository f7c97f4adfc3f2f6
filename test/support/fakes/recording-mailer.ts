import type { Mailer, MailMessage } from "../../../src/domain/ports/mailer.ts";

/** Keeps every message handed over, in order. */
export class RecordingMailer implements Mailer {
  readonly sent: MailMessage[] = [];

  async send(message: MailMessage): Promise<void> {
    this.sent.push(message);
  }

  /** The single-use token in the last mail of `purpose` to `to` (the code the text spells out). */
  tokenSentTo(to: string, purpose: string): string {
    const mail = this.sent.filter((message) => message.to === to && message.purpose === purpose).at(-1);
    const token = mail?.text.match(/code: (\S+)/)?.[1];
    if (token === undefined) throw new Error(`no ${purpose} mail to ${to}`);
    return token;
  }
}
