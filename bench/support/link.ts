/**
 * A loss-free in-memory GATT link for the benchmarks: one direction of §2.2, a `Fragmenter` at the
 * sender and a `Reassembler` at the receiver, with the fragments handed over synchronously.
 * (The tests' lossy, delayed link lives in test/support, which bench/ must not import.)
 */
import { chunkSizeForMtu, Fragmenter, Reassembler } from '../../src/core/framing.js';

/** The ATT MTU the benchmarks assume unless told otherwise (a typical negotiated BLE 4.2+ MTU). */
export const BENCH_ATT_MTU = 247;

export class PipeDirection {
  private readonly fragmenter: Fragmenter;
  private readonly reassembler = new Reassembler();
  /** Fragments carried so far. */
  fragments = 0;

  constructor(attMtu: number = BENCH_ATT_MTU) {
    this.fragmenter = new Fragmenter(chunkSizeForMtu(attMtu));
  }

  /** Fragments `message`, reassembles it on the far side and returns what the receiver gets. */
  carry(message: Uint8Array, nowMs: number): Uint8Array {
    let delivered: Uint8Array | undefined;
    for (const fragment of this.fragmenter.fragment(message)) {
      this.fragments++;
      delivered = this.reassembler.push(fragment, nowMs);
    }
    if (delivered === undefined) throw new Error('bench link: message was not reassembled');
    return delivered;
  }
}

/** Both directions of one connection. */
export class PipeLink {
  readonly hubToSensor: PipeDirection;
  readonly sensorToHub: PipeDirection;

  constructor(attMtu: number = BENCH_ATT_MTU) {
    this.hubToSensor = new PipeDirection(attMtu);
    this.sensorToHub = new PipeDirection(attMtu);
  }
}
