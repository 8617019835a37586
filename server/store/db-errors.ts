/**
 * Database constraint failures turned into what a user can act on (issue 5 §1): a reference to
 * something that does not exist is a 404, a duplicate is a 409. Other errors pass through to the
 * one error handler (a 500 with no details).
 */
import { ApiError } from '../errors.js';

export async function withConstraintErrors<T>(work: () => Promise<T>, messages: { missing: string; duplicate: string }): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === '23503') throw new ApiError('not-found', messages.missing);
    if (code === '23505') throw new ApiError('conflict', messages.duplicate);
    throw e;
  }
}
