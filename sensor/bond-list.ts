/**
 * The sensor's bonds (docs/protocol.md §4.5): the static keys of the hubs it paired with, at
 * most MAX_BONDS, least recently used first to go.
 */
import { equalBytes } from '../src/core/bytes.js';

export const MAX_BONDS = 4;

export interface HubBond {
  readonly hubStatic: Uint8Array;
  readonly hubLabel: string;
  readonly bondedAtMs: number;
  lastUsedMs: number;
}

export class BondList {
  /** Most recently used first, so KK tries the likeliest hub first (§5). */
  private bonds: HubBond[] = [];

  constructor(private readonly capacity = MAX_BONDS) {}

  get size(): number {
    return this.bonds.length;
  }

  list(): readonly HubBond[] {
    return this.bonds;
  }

  keys(): Uint8Array[] {
    return this.bonds.map((b) => b.hubStatic);
  }

  /** Adds or refreshes a bond; evicts the least recently used one when full. */
  add(hubStatic: Uint8Array, hubLabel: string, nowMs: number): void {
    this.remove(hubStatic);
    this.bonds.unshift({ hubStatic: hubStatic.slice(), hubLabel, bondedAtMs: nowMs, lastUsedMs: nowMs });
    if (this.bonds.length > this.capacity) this.bonds.length = this.capacity;
  }

  /** Marks the bond at `index` of `keys()` as just used. */
  touch(index: number, nowMs: number): void {
    const [bond] = this.bonds.splice(index, 1);
    if (bond === undefined) return;
    bond.lastUsedMs = nowMs;
    this.bonds.unshift(bond);
  }

  remove(hubStatic: Uint8Array): boolean {
    const before = this.bonds.length;
    this.bonds = this.bonds.filter((b) => !equalBytes(b.hubStatic, hubStatic));
    return this.bonds.length !== before;
  }

  restore(bonds: readonly HubBond[]): void {
    this.bonds = bonds.slice(0, this.capacity).map((b) => ({ ...b, hubStatic: b.hubStatic.slice() }));
  }
}
