/**
 * The server's FHIR R4 resources (issue 5 §8): Observations through the shared mapping of
 * `src/core/fhir.ts` (vital-signs profile, LOINC + IEEE 11073 codes, UCUM units) with a literal
 * reference to the Device and the Patient; one Provenance per Observation naming the sensor as
 * author and whether its signed checkpoint verified; Patient (pseudonymous) and Device.
 */
import { DEVICE_ID_SYSTEM, FhirMappingError, LOINC_SYSTEM, MDC_SYSTEM, observationId, toObservation, type Observation, type ObservationInput } from '../../src/core/fhir.js';
import { floatToDecimalString, floatToNumber, MDC, NOMENCLATURE, RecordFlags } from '../../src/core/readings.js';
import type { DeviceRecord } from '../store/care-structure.js';
import type { StoredObservation } from '../store/observations.js';

export const PATIENT_ID_SYSTEM = 'urn:vitalock:patient';
export const PROVENANCE_TAG_SYSTEM = 'urn:vitalock:provenance';
export const VERIFIED_POLICY = 'urn:vitalock:policy:sensor-signed-checkpoint';

export type ServerObservation = Omit<Observation, 'device' | 'meta'> & {
  readonly device: { readonly reference: string };
  readonly meta?: { readonly profile?: readonly string[]; readonly tag: readonly { system: string; code: string }[] };
};

/** The reading as `src/core/fhir.ts` takes it. */
export function observationInput(o: StoredObservation): ObservationInput {
  const r = o.record;
  const base = { sensor: o.deviceId, seq: r.seq, timeMs: r.timeMs, code: r.code, questionable: (r.flags & RecordFlags.Questionable) !== 0 };
  switch (r.value.kind) {
    case 1:
      return { ...base, value: floatToDecimalString(r.value.value) };
    case 2: {
      const of = (code: number) => r.value.kind === 2 && r.value.components.find((c) => c.code === code);
      const sys = of(MDC.PRESS_BLD_NONINV_SYS);
      const dia = of(MDC.PRESS_BLD_NONINV_DIA);
      if (!sys || !dia) throw new FhirMappingError('compound reading without systolic and diastolic');
      return { ...base, value: `${floatToDecimalString(sys.value)}/${floatToDecimalString(dia.value)}` };
    }
    case 3: {
      const scale = floatToNumber(r.value.scale);
      return { ...base, value: String(r.value.samples.length), samples: Array.from(r.value.samples, (s) => s * scale), sampleIntervalUs: r.value.intervalUs };
    }
  }
}

export function toServerObservation(o: StoredObservation): ServerObservation {
  const mapped = toObservation(observationInput(o), { patient: `Patient/${o.patientId}` });
  return {
    ...mapped,
    meta: { ...(mapped.meta ?? {}), tag: [{ system: PROVENANCE_TAG_SYSTEM, code: o.provenance }] },
    device: { reference: `Device/${o.deviceId}` },
  };
}

export function toProvenance(o: StoredObservation) {
  const id = observationId(o.deviceId, o.record.seq);
  return {
    resourceType: 'Provenance' as const,
    id: `prov-${id}`,
    target: [{ reference: `Observation/${id}` }],
    recorded: o.receivedAt.toISOString(),
    ...(o.provenance === 'verified' ? { policy: [VERIFIED_POLICY] } : {}),
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' }] },
        who: { reference: `Device/${o.deviceId}` },
      },
    ],
    reason: [{ text: o.provenance === 'verified' ? 'Reading covered by a sensor-signed checkpoint that verified.' : 'Reading not (yet) covered by a verified sensor checkpoint.' }],
  };
}

export function toPatient(id: string, active: boolean) {
  return { resourceType: 'Patient' as const, id, identifier: [{ system: PATIENT_ID_SYSTEM, value: id }], active };
}

export function toDevice(d: DeviceRecord) {
  return {
    resourceType: 'Device' as const,
    id: d.id,
    identifier: [{ system: DEVICE_ID_SYSTEM, value: d.id }],
    status: 'active' as const,
    manufacturer: d.manufacturer,
    serialNumber: d.serial,
    modelNumber: d.model,
    deviceName: [{ name: d.model, type: 'model-name' as const }],
    ...(d.patientId !== null ? { patient: { reference: `Patient/${d.patientId}` } } : {}),
  };
}

/** LOINC or MDC code → the 11073 measurement codes stored for it (derived from the shared mapping). */
export const CODE_INDEX: ReadonlyMap<string, readonly number[]> = (() => {
  const index = new Map<string, number[]>();
  for (const term of NOMENCLATURE.values()) {
    if (term.type !== 'measurement') continue;
    try {
      const sample = toObservation({ sensor: '00', seq: 1, timeMs: 0, code: term.code, value: term.code === MDC.PRESS_BLD_NONINV ? '1/1' : '1', questionable: false, samples: [0], sampleIntervalUs: 1 });
      for (const c of sample.code.coding) {
        const key = `${c.system}|${c.code}`;
        index.set(key, [...(index.get(key) ?? []), term.code]);
      }
    } catch (e) {
      if (!(e instanceof FhirMappingError)) throw e;
    }
  }
  return index;
})();

/** The stored codes a token matches; a code without a system may be LOINC or MDC. */
export function codesForToken(system: string | undefined, code: string): number[] {
  const systems = system === undefined ? [LOINC_SYSTEM, MDC_SYSTEM] : [system];
  return systems.flatMap((s) => CODE_INDEX.get(`${s}|${code}`) ?? []);
}

export function operationOutcome(severity: 'error' | 'warning', code: string, diagnostics: string) {
  return { resourceType: 'OperationOutcome' as const, issue: [{ severity, code, diagnostics }] };
}
