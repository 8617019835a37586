/**
 * The row of vital-sign tiles a sensor's card and its live view both show: one `vl-vital-tile`
 * per sign, with its latest value, unit, age and alert level. A template function, not an
 * element: it holds no state.
 */
import { html, type TemplateResult } from 'lit';
import type { SensorCard } from '../model/sensor-board.js';
import { alertLevel, alertText, type VitalSign } from '../model/vital-signs.js';
import './vl-vital-tile.js';

export function vitalTiles(signs: readonly VitalSign[], card: SensorCard | undefined, now: number): TemplateResult[] {
  return signs.map((v) => {
    const r = card?.latest.get(v.code);
    const level = r ? alertLevel(v.code, r.value) : 'normal';
    return html`<vl-vital-tile
      .name=${v.name}
      .value=${r?.value}
      .unit=${v.unit}
      .readingTime=${r?.timeMs}
      .now=${now}
      .level=${level}
      .alertText=${alertText(v.code, level)}
      .questionable=${r?.questionable ?? false}
    ></vl-vital-tile>`;
  });
}
