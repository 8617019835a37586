/**
 * `npm run audit:verify` (issue 5 §6): verifies the audit chain of the configured database
 * (same environment as the server). Exit 0 when intact; 1 with the first bad seq when not; 2 when
 * it could not check. With the embedded database, stop the server first (one process per folder).
 */
import { openOperator, runCommand } from '../cli-support.js';
import { verifyAuditChain } from './verify.js';

runCommand(async () => {
  const { db, keys } = await openOperator();
  try {
    const verdict = await verifyAuditChain(db, keys);
    if (verdict.ok) {
      console.log(`audit chain intact: ${verdict.entries} entries, signed head at seq ${verdict.headSeq}`);
      return 0;
    }
    console.log(`audit chain BROKEN: first bad seq ${verdict.firstBadSeq} (${verdict.problem}); ${verdict.entries} entries verified before it`);
    return 1;
  } finally {
    await db.close();
  }
});
