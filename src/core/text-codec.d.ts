/**
 * The core is compiled without DOM or Node types (docs/architecture §6), yet every runtime it
 * runs in — browsers, workers, Node — provides the WHATWG Encoding API. Declaring just the part
 * the core uses keeps it portable without pulling in a platform's whole library.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
