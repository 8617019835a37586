/**
 * `POST /api/ingest` (issue 5 §7, issue 6 §2): one sealed batch (protocol §11) as
 * `application/octet-stream`, at most `MAX_INGEST_BODY` bytes. A signed-in patient, nurse or
 * clinician's hub delivers it; the answer (200) comes only after the readings are committed, and
 * is the same for the same batch however often it is delivered — so the hub may drop the batch
 * from its outbox on a 200 and retry on anything else. A 400 or 409 says what is wrong with the
 * batch and what to do; nothing of a refused batch is stored.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_SEALED_BATCH } from '../../src/core/sealed-batch.js';
import type { TrustStore } from '../../src/core/trust-store.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { closed, errorResponses } from '../routes/http-schemas.js';
import { IngestError, ingestBatch, type IngestErrorCode } from './ingest-batch.js';
import type { IngestionSecrets } from './ingestion-keyring.js';

/** The largest sealed batch, with room for nothing else. */
export const MAX_INGEST_BODY = MAX_SEALED_BATCH;

export interface IngestOptions {
  readonly secrets: IngestionSecrets;
  /** The manufacturer CAs (and their revocation lists) the cloud trusts. */
  readonly trustStore: TrustStore;
}

const Answer = closed({
  batchId: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  accepted: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  provenance: closed({
    verified: Type.Integer({ minimum: 0 }),
    pending: Type.Integer({ minimum: 0 }),
    unverified: Type.Integer({ minimum: 0 }),
    reasons: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  }),
});

const STATUS: Record<IngestErrorCode, 'bad-request' | 'conflict'> = {
  malformed: 'bad-request',
  'invalid-record': 'bad-request',
  'not-authentic': 'bad-request',
  'unknown-key': 'conflict',
  'device-unassigned': 'conflict',
};

export const ingestRoutes =
  (ctx: ServerContext, options: IngestOptions): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_INGEST_BODY }, (_request, body, done) => {
      done(null, body);
    });
    app.post(
      '/ingest',
      {
        bodyLimit: MAX_INGEST_BODY,
        schema: { response: { 200: Answer, ...errorResponses } },
      },
      async (request) => {
        const principal = await ctx.authenticate(request);
        if (principal === undefined) throw new ApiError('unauthenticated', 'Sign in to continue.');
        if (!principal.roles.some((r) => r === 'patient' || r === 'nurse' || r === 'clinician')) {
          throw new ApiError('forbidden', 'Access denied: only a patient’s or a carer’s device may deliver readings.');
        }
        const body = request.body;
        if (!(body instanceof Uint8Array)) throw new ApiError('unsupported-media-type', 'Send the sealed batch as application/octet-stream.');
        try {
          return await ingestBatch(
            ctx.db,
            { secrets: options.secrets, trustStore: options.trustStore, keyring: ctx.keyring, now: () => ctx.now(), audit: ctx.audit, actor: principal.subject },
            new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
          );
        } catch (error) {
          if (error instanceof IngestError) throw new ApiError(STATUS[error.code], error.message);
          throw error;
        }
      },
    );
  };
