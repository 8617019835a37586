/**
 * Readings as HL7 FHIR R4 Observations (docs/protocol.md §8.2 nomenclature; FHIR R4 vital-signs
 * profile, http://hl7.org/fhir/R4/observation-vitalsigns.html): pure functions, so the app's
 * export and the server's FHIR API produce the same resources from the same reading.
 *
 * Each reading keeps its IEEE 11073-10101 code beside the LOINC code the vital-signs profile
 * requires, and its UCUM unit. Values are copied from the exact decimal text the reading carries
 * (§8.5): "36.6" becomes the JSON number 36.6 written with the same digits, never a value that
 * went through arithmetic. The ECG waveform (no vital-signs profile) becomes SampledData.
 */
import { MDC, NOMENCLATURE } from './readings.js';

export const LOINC_SYSTEM = 'http://loinc.org';
export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const DEVICE_ID_SYSTEM = 'urn:vitalock:device-id';
export const READING_ID_SYSTEM = 'urn:vitalock:reading';
const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
const PROFILE_BASE = 'http://hl7.org/fhir/StructureDefinition/';

/** A reading as the app holds it (the vault's `ReadingView` has this shape). */
export interface ObservationInput {
  /** Device id, 16 hex digits. */
  readonly sensor: string;
  readonly seq: number;
  readonly timeMs: number;
  /** IEEE 11073-10101 measurement code. */
  readonly code: number;
  /** Exact decimal text: "36.6", "118/76" (compound: systolic/diastolic), or a sample count. */
  readonly value: string;
  readonly questionable: boolean;
  readonly samples?: readonly number[];
  readonly sampleIntervalUs?: number;
}

export interface ObservationContext {
  /** A FHIR reference to the patient ("Patient/123"), when the sensor is assigned to one. */
  readonly patient?: string;
  /** The patient as the user typed it (a name or a ward number), when there is no reference. */
  readonly patientDisplay?: string;
  /** Shown as the device's name. */
  readonly deviceName?: string;
}

interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

export interface Quantity {
  readonly value: number;
  readonly unit: string;
  readonly system: string;
  readonly code: string;
}

/** A FHIR R4 Observation, only the elements this module writes. */
export interface Observation {
  readonly resourceType: 'Observation';
  readonly id: string;
  readonly meta?: { readonly profile: readonly string[] };
  readonly identifier: readonly { readonly system: string; readonly value: string }[];
  readonly status: 'final';
  readonly category: readonly { readonly coding: readonly Coding[]; readonly text: string }[];
  readonly code: { readonly coding: readonly Coding[]; readonly text: string };
  readonly subject: { readonly reference: string } | { readonly display: string };
  readonly effectiveDateTime: string;
  readonly device: { readonly identifier: { readonly system: string; readonly value: string }; readonly display?: string };
  readonly valueQuantity?: Quantity;
  readonly valueSampledData?: {
    readonly origin: Quantity;
    readonly period: number;
    readonly dimensions: 1;
    readonly data: string;
  };
  readonly component?: readonly { readonly code: { readonly coding: readonly Coding[]; readonly text: string }; readonly valueQuantity: Quantity }[];
  readonly note?: readonly { readonly text: string }[];
}

export interface Bundle {
  readonly resourceType: 'Bundle';
  readonly type: 'collection';
  readonly timestamp: string;
  readonly entry: readonly { readonly resource: Observation }[];
}

interface VitalSign {
  readonly loinc: readonly Coding[];
  readonly profile: string;
  readonly ucum: string;
  readonly unitDisplay: string;
}

const loinc = (code: string, display: string): Coding => ({ system: LOINC_SYSTEM, code, display });

/** The vital-signs profile's LOINC codes (R4 §Vital Signs table) for the sensor's measurements. */
const VITAL_SIGNS: ReadonlyMap<number, VitalSign> = new Map<number, VitalSign>([
  [MDC.ECG_HEART_RATE, { loinc: [loinc('8867-4', 'Heart rate')], profile: 'heartrate', ucum: '/min', unitDisplay: 'beats/minute' }],
  [
    MDC.PULS_OXIM_SAT_O2,
    {
      loinc: [loinc('2708-6', 'Oxygen saturation in Arterial blood'), loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry')],
      profile: 'oxygensat',
      ucum: '%',
      unitDisplay: '%',
    },
  ],
  [MDC.RESP_RATE, { loinc: [loinc('9279-1', 'Respiratory rate')], profile: 'resprate', ucum: '/min', unitDisplay: 'breaths/minute' }],
  [MDC.TEMP_BODY, { loinc: [loinc('8310-5', 'Body temperature')], profile: 'bodytemp', ucum: 'Cel', unitDisplay: 'C' }],
  [MDC.PRESS_BLD_NONINV, { loinc: [loinc('85354-9', 'Blood pressure panel with all children optional')], profile: 'bp', ucum: 'mm[Hg]', unitDisplay: 'mmHg' }],
  [MDC.PRESS_BLD_NONINV_MEAN, { loinc: [loinc('8478-0', 'Mean blood pressure')], profile: 'vitalsigns', ucum: 'mm[Hg]', unitDisplay: 'mmHg' }],
]);

const SYSTOLIC = loinc('8480-6', 'Systolic blood pressure');
const DIASTOLIC = loinc('8462-4', 'Diastolic blood pressure');
const DECIMAL = /^-?\d+(\.\d+)?$/;

export class FhirMappingError extends Error {
  override readonly name = 'FhirMappingError';
}

/** The JSON number for an exact decimal string; refuses anything that is not a plain decimal. */
export function decimalValue(text: string): number {
  if (!DECIMAL.test(text)) throw new FhirMappingError(`not a decimal value: ${JSON.stringify(text).slice(0, 40)}`);
  return Number(text);
}

function mdcCoding(code: number): Coding {
  const term = NOMENCLATURE.get(code);
  return { system: MDC_SYSTEM, code: String(code), display: term?.reference ?? `MDC ${code}` };
}

function quantity(text: string, vital: Pick<VitalSign, 'ucum' | 'unitDisplay'>): Quantity {
  return { value: decimalValue(text), unit: vital.unitDisplay, system: UCUM_SYSTEM, code: vital.ucum };
}

function isoTime(timeMs: number): string {
  if (!Number.isFinite(timeMs)) throw new FhirMappingError('reading time is not a finite number');
  return new Date(timeMs).toISOString();
}

/** The stable id of a reading's Observation: the same reading always maps to the same id. */
export function observationId(sensor: string, seq: number): string {
  return `vl-${sensor.toLowerCase()}-${seq}`;
}

/** One reading as one Observation. Throws `FhirMappingError` for an unknown code or bad value. */
export function toObservation(reading: ObservationInput, context: ObservationContext = {}): Observation {
  const vital = VITAL_SIGNS.get(reading.code);
  const base = {
    resourceType: 'Observation' as const,
    id: observationId(reading.sensor, reading.seq),
    identifier: [{ system: READING_ID_SYSTEM, value: `${reading.sensor}-${reading.seq}` }],
    status: 'final' as const,
    subject: context.patient !== undefined ? { reference: context.patient } : { display: context.patientDisplay ?? 'Patient not assigned' },
    effectiveDateTime: isoTime(reading.timeMs),
    device: {
      identifier: { system: DEVICE_ID_SYSTEM, value: reading.sensor },
      ...(context.deviceName !== undefined ? { display: context.deviceName } : {}),
    },
    ...(reading.questionable ? { note: [{ text: 'The sensor flagged this reading as questionable (e.g. motion artefact).' }] } : {}),
  };
  if (reading.code === MDC.ECG_ELEC_POTL_II) return waveform(reading, base);
  if (vital === undefined) throw new FhirMappingError(`no FHIR mapping for measurement code ${reading.code}`);
  const label = NOMENCLATURE.get(reading.code)?.label ?? vital.loinc[0]?.display ?? '';
  const common = {
    ...base,
    meta: { profile: [`${PROFILE_BASE}${vital.profile}`] },
    category: [vitalSignsCategory()],
    code: { coding: [...vital.loinc, mdcCoding(reading.code)], text: label },
  };
  if (reading.code === MDC.PRESS_BLD_NONINV) {
    const [systolic, diastolic] = reading.value.split('/');
    if (systolic === undefined || diastolic === undefined) throw new FhirMappingError('blood pressure needs systolic/diastolic');
    return {
      ...common,
      component: [
        { code: { coding: [SYSTOLIC, mdcCoding(MDC.PRESS_BLD_NONINV_SYS)], text: 'Systolic' }, valueQuantity: quantity(systolic, vital) },
        { code: { coding: [DIASTOLIC, mdcCoding(MDC.PRESS_BLD_NONINV_DIA)], text: 'Diastolic' }, valueQuantity: quantity(diastolic, vital) },
      ],
    };
  }
  return { ...common, valueQuantity: quantity(reading.value, vital) };
}

function vitalSignsCategory() {
  return { coding: [{ system: CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' }], text: 'Vital Signs' };
}

function waveform(reading: ObservationInput, base: Omit<Observation, 'category' | 'code'>): Observation {
  const samples = reading.samples;
  const interval = reading.sampleIntervalUs;
  if (samples === undefined || interval === undefined || interval <= 0) throw new FhirMappingError('a waveform needs samples and a sample interval');
  return {
    ...base,
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'procedure', display: 'Procedure' }], text: 'Procedure' }],
    code: { coding: [mdcCoding(reading.code)], text: NOMENCLATURE.get(reading.code)?.label ?? 'ECG' },
    valueSampledData: {
      origin: { value: 0, unit: 'mV', system: UCUM_SYSTEM, code: 'mV' },
      period: interval / 1000,
      dimensions: 1,
      // Samples are already in mV (scale applied); 4 decimals keep the 0.005 mV resolution exact.
      data: samples.map((s) => String(Math.round(s * 10_000) / 10_000)).join(' '),
    },
  };
}

/** Readings as a FHIR `collection` Bundle; readings with no mapping are left out and counted. */
export function toBundle(readings: readonly ObservationInput[], context: (sensor: string) => ObservationContext, nowMs: number): { bundle: Bundle; skipped: number } {
  const entry: { resource: Observation }[] = [];
  let skipped = 0;
  for (const r of readings) {
    try {
      entry.push({ resource: toObservation(r, context(r.sensor)) });
    } catch (err) {
      if (!(err instanceof FhirMappingError)) throw err;
      skipped++;
    }
  }
  return { bundle: { resourceType: 'Bundle', type: 'collection', timestamp: isoTime(nowMs), entry }, skipped };
}
