/**
 * What the harness page exposes on `window.harness`, for specs that drive it with
 * `page.evaluate`. Types only: the specs import this file with `import type`.
 */

export interface HubInit {
  readonly caName: string;
  readonly caPublicKey: ArrayBuffer;
  readonly attMtu: number;
  readonly dbName: string;
}

/** The worker's answer to each call: fragments for the sensor, and where the hub stands. */
export interface HubStep {
  readonly writes: ArrayBuffer[];
  readonly open: boolean;
  readonly state: string;
  /** Readings committed to IndexedDB so far. */
  readonly stored: number;
  readonly transactions: number;
  readonly failures: string[];
  readonly security: string[];
}

export interface HubReadBack {
  readonly dbName: string;
  /** `IDBObjectStore.count()` on a new connection. */
  readonly count: number;
  readonly deviceIds: string[];
  readonly seqs: number[];
  readonly mantissas: number[];
}

export interface TimerProbe {
  readonly startedAt: number | undefined;
  readonly firedAt: number | undefined;
  readonly now: number;
}

export interface PageInfo {
  readonly crossOriginIsolated: boolean;
  readonly isSecureContext: boolean;
  readonly userAgent: string;
  readonly hasBluetooth: boolean;
  readonly hasIndexedDb: boolean;
  readonly hasPublicKeyCredential: boolean;
}

export interface StreamResult {
  readonly paired: boolean;
  readonly deviceName: string;
  readonly deviceIdHex: string;
  /** What the sensor recorded, and what it still holds (0 once everything was acknowledged). */
  readonly recorded: number;
  readonly sensorHeld: number;
  readonly ackedUpTo: number;
  readonly hub: Omit<HubStep, 'writes'>;
  readonly fragmentsToHub: number;
  readonly fragmentsToSensor: number;
  readonly roundTrips: number;
  readonly pairMs: number;
  readonly streamMs: number;
  /** The mantissa the sensor recorded for each seq (index 0 = seq 1). */
  readonly expectedMantissas: number[];
  readonly readBack: HubReadBack;
}

export interface PrfRegistration {
  readonly credentialId: string;
  /** `getClientExtensionResults().prf.enabled` at creation. */
  readonly prfEnabled: boolean | undefined;
  /** Length of `prf.results.first` at creation, when the authenticator evaluated it there. */
  readonly createFirstLength: number | undefined;
}

export interface PrfEvaluation {
  /** A handle on the output, kept inside the page; compare two with `prf.same`. */
  readonly handle: number;
  readonly firstLength: number | undefined;
}

export interface HarnessApi {
  info(): PageInfo;
  worker: {
    boot(): Promise<{ ready: boolean; now: number; hasIndexedDb: boolean }>;
    startTimer(ms: number): Promise<void>;
    timer(): Promise<TimerProbe>;
  };
  /** A sensor in this page pairs with a hub in the worker and streams `readings` readings into its IndexedDB. */
  pairAndStream(options: { readings: number; dbName?: string; attMtu?: number }): Promise<StreamResult>;
  prf: {
    register(): Promise<PrfRegistration>;
    /** Gets an assertion with the PRF extension; `salt` is hashed to 32 bytes first. */
    evaluate(credentialId: string, salt: string): Promise<PrfEvaluation>;
    /** Whether two outputs are equal (compared here; the outputs never leave the page). */
    same(a: number, b: number): boolean;
  };
  timers: {
    startTimer(ms: number): void;
    timer(): TimerProbe;
  };
}

declare global {
  interface Window {
    harness: HarnessApi;
    harnessReady: boolean;
  }
}
