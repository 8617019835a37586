/**
 * Request validation (issue 5 §1): two Ajv instances. Bodies are validated as sent — no type
 * coercion, no removal of unknown fields, so `"5"` for a number or an extra field is a 400 and
 * nothing is stored. Path parameters, query strings and headers arrive as text and are coerced.
 */
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };

function make(coerce: boolean): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes: coerce ? 'array' : false });
  // ajv-formats is CommonJS: its plugin is the module's `default` when imported from ESM.
  const plugin = (addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats;
  plugin(ajv);
  return ajv;
}

const strict = make(false);
const coercing = make(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema as object);
};
