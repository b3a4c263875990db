/**
 * netback's typed error: what Linux treats as BUG() in netback (a live grant handle overwritten, an unmap
 * the hypervisor refused, a dealloc ring overrun). None of these can be caused by a guest: they mean pvnet's
 * own bookkeeping is wrong, so they throw (DESIGN.md principle 2), with a stable code for tests.
 */

import { PvnetError } from '../../errors.ts';

export class NetbackBug extends PvnetError {
  constructor(message: string, errno?: number) {
    super('ERR_NETBACK_BUG', `netback BUG: ${message}`, errno);
  }
}
