/**
 * Readings → FHIR R4 Observations (src/core/fhir.ts): the vital-signs profile's LOINC codes
 * beside the IEEE 11073 codes, UCUM units, values with the exact digits measured, blood pressure
 * as components, the ECG as SampledData, stable ids; bad input refused with a typed error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalValue, FhirMappingError, LOINC_SYSTEM, MDC_SYSTEM, observationId, toBundle, toObservation, UCUM_SYSTEM, type ObservationInput } from '../../src/core/fhir.js';
import { MDC } from '../../src/core/readings.js';

const SENSOR = '0123456789ABCDEF';
const reading = (code: number, value: string, extra: Partial<ObservationInput> = {}): ObservationInput => ({
  sensor: SENSOR,
  seq: 7,
  timeMs: Date.UTC(2026, 10, 28, 3, 14, 5, 250),
  code,
  value,
  questionable: false,
  ...extra,
});

describe('toObservation', () => {
  it.each([
    [MDC.ECG_HEART_RATE, '72', '8867-4', 'heartrate', '/min'],
    [MDC.PULS_OXIM_SAT_O2, '97', '2708-6', 'oxygensat', '%'],
    [MDC.RESP_RATE, '16', '9279-1', 'resprate', '/min'],
    [MDC.TEMP_BODY, '36.6', '8310-5', 'bodytemp', 'Cel'],
  ])('code %i → LOINC %s, profile %s, UCUM %s', (code, value, loinc, profile, ucum) => {
    const o = toObservation(reading(code, value));
    expect(o.resourceType).toBe('Observation');
    expect(o.status).toBe('final');
    expect(o.meta?.profile).toEqual([`http://hl7.org/fhir/StructureDefinition/${profile}`]);
    expect(o.category[0]?.coding[0]).toMatchObject({ code: 'vital-signs' });
    expect(o.code.coding[0]).toMatchObject({ system: LOINC_SYSTEM, code: loinc });
    expect(o.code.coding.find((c) => c.system === MDC_SYSTEM)?.code).toBe(String(code));
    expect(o.valueQuantity).toMatchObject({ system: UCUM_SYSTEM, code: ucum, value: Number(value) });
    expect(o.effectiveDateTime).toBe('2026-11-28T03:14:05.250Z');
    expect(o.device.identifier.value).toBe(SENSOR);
    expect(o.subject).toEqual({ display: 'Patient not assigned' });
  });

  it('SpO2 carries both the arterial and the pulse-oximetry LOINC codes', () => {
    const codes = toObservation(reading(MDC.PULS_OXIM_SAT_O2, '97')).code.coding.map((c) => c.code);
    expect(codes).toEqual(['2708-6', '59408-5', String(MDC.PULS_OXIM_SAT_O2)]);
  });

  it('keeps the digits measured: 36.6 is written 36.6, 37.0 keeps its value', () => {
    expect(JSON.stringify(toObservation(reading(MDC.TEMP_BODY, '36.6')).valueQuantity)).toContain('"value":36.6');
    expect(toObservation(reading(MDC.TEMP_BODY, '37.0')).valueQuantity?.value).toBe(37);
  });

  it('blood pressure is a panel with systolic and diastolic components', () => {
    const o = toObservation(reading(MDC.PRESS_BLD_NONINV, '118/76'));
    expect(o.code.coding[0]?.code).toBe('85354-9');
    expect(o.valueQuantity).toBeUndefined();
    expect(o.component?.map((c) => [c.code.coding[0]?.code, c.valueQuantity.value, c.valueQuantity.code])).toEqual([
      ['8480-6', 118, 'mm[Hg]'],
      ['8462-4', 76, 'mm[Hg]'],
    ]);
  });

  it('the ECG becomes SampledData in mV with its period in ms', () => {
    const o = toObservation(reading(MDC.ECG_ELEC_POTL_II, '3 samples', { samples: [0.005, -0.1, 1.25], sampleIntervalUs: 4000 }));
    expect(o.meta).toBeUndefined();
    expect(o.valueSampledData).toEqual({ origin: { value: 0, unit: 'mV', system: UCUM_SYSTEM, code: 'mV' }, period: 4, dimensions: 1, data: '0.005 -0.1 1.25' });
  });

  it('a patient reference, a display name, the device name and the questionable flag are carried', () => {
    expect(toObservation(reading(MDC.ECG_HEART_RATE, '72'), { patient: 'Patient/42' }).subject).toEqual({ reference: 'Patient/42' });
    const o = toObservation(reading(MDC.ECG_HEART_RATE, '72', { questionable: true }), { patientDisplay: 'Bed 4', deviceName: 'Bed 4 monitor' });
    expect(o.subject).toEqual({ display: 'Bed 4' });
    expect(o.device.display).toBe('Bed 4 monitor');
    expect(o.note?.[0]?.text).toMatch(/questionable/);
  });

  it('ids are stable: the same reading always maps to the same id', () => {
    expect(toObservation(reading(MDC.ECG_HEART_RATE, '72')).id).toBe(observationId(SENSOR, 7));
    expect(observationId(SENSOR, 7)).toBe('vl-0123456789abcdef-7');
  });

  it('refuses unknown codes, non-decimal values, broken pressures and waveforms without samples', () => {
    expect(() => toObservation(reading(12345, '1'))).toThrow(FhirMappingError);
    expect(() => toObservation(reading(MDC.ECG_HEART_RATE, 'NaN'))).toThrow(FhirMappingError);
    expect(() => toObservation(reading(MDC.ECG_HEART_RATE, '1e3'))).toThrow(FhirMappingError);
    expect(() => toObservation(reading(MDC.PRESS_BLD_NONINV, '118'))).toThrow(FhirMappingError);
    expect(() => toObservation(reading(MDC.ECG_ELEC_POTL_II, '0 samples'))).toThrow(FhirMappingError);
    expect(() => toObservation(reading(MDC.ECG_HEART_RATE, '72', { timeMs: Number.NaN }))).toThrow(FhirMappingError);
  });

  it('any text as a value: a decimal maps to the same number, anything else is a FhirMappingError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.double({ noNaN: true }).map(String)), (text) => {
        try {
          const o = toObservation(reading(MDC.ECG_HEART_RATE, text));
          expect(/^-?\d+(\.\d+)?$/.test(text)).toBe(true);
          expect(o.valueQuantity?.value).toBe(Number(text));
        } catch (err) {
          expect(err).toBeInstanceOf(FhirMappingError);
        }
      }),
    );
  });
});

describe('toBundle', () => {
  it('a collection of Observations; unmappable readings are counted, not exported', () => {
    const { bundle, skipped } = toBundle([reading(MDC.ECG_HEART_RATE, '72'), reading(999, '1'), reading(MDC.TEMP_BODY, '36.6', { seq: 8 })], () => ({}), Date.UTC(2026, 0, 1));
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection', timestamp: '2026-01-01T00:00:00.000Z' });
    expect(bundle.entry.map((e) => e.resource.id)).toEqual(['vl-0123456789abcdef-7', 'vl-0123456789abcdef-8']);
    expect(skipped).toBe(1);
    // Plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(bundle))).toEqual(bundle);
  });

  it('decimalValue accepts only plain decimals', () => {
    expect(decimalValue('-0.5')).toBe(-0.5);
    for (const bad of ['', '+1', '1.', '.5', '0x10', 'Infinity', ' 1']) expect(() => decimalValue(bad)).toThrow(FhirMappingError);
  });
});
