/**
 * Typed errors specific to the domain kernel's memory layer. Allocation *failure* is never one of these: it is
 * an outcome (-1). These are for misuse by the calling code, as Linux would BUG() or print "Bad page state".
 */
import { PvnetError } from '../errors.ts';

/**
 * A page was handled in a state that only a bug produces: get_page on a free page, or a page owned by this
 * domain reaching refcount 0 through an allocator that does not manage it (it would leak, or be freed into
 * the wrong pool).
 */
export class BadPageState extends PvnetError {
  readonly frame: number;

  constructor(frame: number, why: string) {
    super('ERR_BAD_PAGE_STATE', `bad page state: frame ${frame}: ${why}`);
    this.frame = frame;
  }
}

/** kmem_cache_destroy on a cache that still has objects allocated (Linux: "Slab cache still has objects"). */
export class KmemCacheBusy extends PvnetError {
  readonly cache: string;
  readonly objects: number;

  constructor(cache: string, objects: number) {
    super('ERR_KMEM_CACHE_BUSY', `kmem_cache_destroy ${cache}: ${objects} objects still allocated`);
    this.cache = cache;
    this.objects = objects;
  }
}

/** -ENOMEM (the reserve cannot grow; a charge cannot be backed) and -EEXIST (mem_reserve_connect of a node that
 * already has a parent), returned as outcome values. */
export { ENOMEM, EEXIST } from '../errno.ts';
