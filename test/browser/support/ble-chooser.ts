/**
 * The `requestDevice` chooser under test (docs: testing): CDP `DeviceAccess`, which exists only on
 * the page's own session. The prompt event repeats as the device list grows; each prompt is
 * answered exactly once (a second answer crashes the browser), by device id — the peripheral's
 * address — never by position, or cancelled (the page's `requestDevice` rejects with
 * NotFoundError).
 *
 * Measured: a page in a background tab gets no prompt; bring it to the front first.
 */
import type { CDPSession } from '@playwright/test';

interface DeviceRequestPrompt {
  readonly id: string;
  readonly devices: readonly { readonly id: string; readonly name: string }[];
}

export type ChooserAnswer = { readonly select: string } | { readonly cancel: true };

/** Answers the next prompt once, by device id, or cancels it. */
export class Chooser {
  private readonly answered = new Set<string>();
  private next: { answer: ChooserAnswer; done: (devices: string[]) => void } | undefined;
  /** Prompts seen (each id once). */
  prompts = 0;

  constructor(private readonly cdp: CDPSession) {
    cdp.on('DeviceAccess.deviceRequestPrompted', (e) => void this.onPrompt(e));
  }

  /** Answers the next prompt; resolves with the device ids it listed when answered. */
  answerNext(answer: ChooserAnswer): Promise<string[]> {
    return new Promise((done) => {
      this.next = { answer, done };
    });
  }

  async detach(): Promise<void> {
    await this.cdp.detach().catch(() => undefined);
  }

  private async onPrompt(e: DeviceRequestPrompt): Promise<void> {
    // The event repeats as the list grows; a second answer to one prompt crashes the browser.
    if (this.answered.has(e.id) || this.next === undefined) return;
    const { answer, done } = this.next;
    const devices = e.devices.map((d) => d.id);
    if ('select' in answer) {
      if (!devices.includes(answer.select)) return; // not listed yet: wait for the next event
      this.answered.add(e.id);
      this.next = undefined;
      this.prompts++;
      await this.cdp.send('DeviceAccess.selectPrompt', { id: e.id, deviceId: answer.select });
    } else {
      this.answered.add(e.id);
      this.next = undefined;
      this.prompts++;
      await this.cdp.send('DeviceAccess.cancelPrompt', { id: e.id });
    }
    done(devices);
  }
}
