import type { CDPSession, Page } from "playwright-core";

/** A credential as the DevTools protocol exports and imports it (WebAuthn.Credential). */
export interface VirtualCredential {
  readonly credentialId: string;
  readonly isResidentCredential: boolean;
  readonly rpId?: string;
  /** PKCS#8, base64: whoever holds it can answer for the passkey (that is what a clone is). */
  readonly privateKey: string;
  readonly userHandle?: string;
  readonly signCount: number;
}

/**
 * A platform authenticator in the page (Chromium's virtual authenticator over the DevTools
 * protocol): resident keys, user verification that succeeds, and presence given without a
 * prompt, so a ceremony completes as if the person touched the sensor.
 */
export class VirtualAuthenticator {
  private readonly cdp: CDPSession;
  readonly authenticatorId: string;

  private constructor(cdp: CDPSession, authenticatorId: string) {
    this.cdp = cdp;
    this.authenticatorId = authenticatorId;
  }

  static async attach(page: Page): Promise<VirtualAuthenticator> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return new VirtualAuthenticator(cdp, authenticatorId);
  }

  async credentials(): Promise<VirtualCredential[]> {
    const { credentials } = await this.cdp.send("WebAuthn.getCredentials", {
      authenticatorId: this.authenticatorId,
    });
    return credentials as VirtualCredential[];
  }

  async addCredential(credential: VirtualCredential): Promise<void> {
    await this.cdp.send("WebAuthn.addCredential", { authenticatorId: this.authenticatorId, credential });
  }
}
