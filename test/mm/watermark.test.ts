import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS, ALLOC_WMARK_MIN } from '../../src/mm/alloc-flags.ts';
import {
  effectiveFloor, initPerZoneWmarkMin, intSqrt, MIN_FREE_KBYTES_MAX, MIN_FREE_KBYTES_MIN, setupPerZoneWmarks, Zone,
  zoneWatermarkOk,
} from '../../src/mm/watermark.ts';
import { InvalidArgument } from '../../src/errors.ts';
import { throwsType } from '../support/assert.ts';

const MiB = 1024;
const GiB = 1024 * 1024;

test('watermark: min_free_kbytes = int_sqrt(lowmem_kbytes × 16), REFERENCE §11.2 examples', () => {
  assert.is(initPerZoneWmarkMin(16 * MiB), 512);
  assert.is(initPerZoneWmarkMin(64 * MiB), 1024);
  assert.is(initPerZoneWmarkMin(1 * GiB), 4096);
  assert.is(initPerZoneWmarkMin(4 * GiB), 8192);
  assert.is(initPerZoneWmarkMin(16 * GiB), 16384);
});

test('watermark: min_free_kbytes is clamped to [128, 65536] KiB', () => {
  assert.is(initPerZoneWmarkMin(0), MIN_FREE_KBYTES_MIN);
  assert.is(initPerZoneWmarkMin(512), 128); // int_sqrt(8192) = 90, clamped up
  assert.is(initPerZoneWmarkMin(1 * MiB), 128); // exactly the floor
  assert.is(initPerZoneWmarkMin(256 * GiB), 65536); // exactly the ceiling
  assert.is(initPerZoneWmarkMin(1024 * GiB), MIN_FREE_KBYTES_MAX);
});

test('watermark: int_sqrt rounds down exactly, also where floating sqrt would not', () => {
  assert.is(intSqrt(0), 0);
  assert.is(intSqrt(15), 3);
  assert.is(intSqrt(16), 4);
  const big = 94906265; // big² = 9007199136250225 < 2^53
  assert.is(intSqrt(big * big), big);
  assert.is(intSqrt(big * big - 1), big - 1);
  throwsType(() => intSqrt(-1), InvalidArgument);
});

test('watermark: a 64 MiB zone gets MIN 256, LOW 320, HIGH 384 (REFERENCE §12.2)', () => {
  assert.equal(setupPerZoneWmarks(1024, 16384), { min: 256, low: 320, high: 384 });
  // a zone holding half of lowmem gets half of pages_min
  assert.equal(setupPerZoneWmarks(1024, 8192, 16384), { min: 128, low: 160, high: 192 });
  throwsType(() => setupPerZoneWmarks(1024, 0), InvalidArgument);
});

const zone = (free: number) => {
  const z = new Zone(1024, { min: 256, low: 320, high: 384 });
  z.freeArea[0] = free;
  return z;
};

test('watermark: a normal caller needs free > MIN', () => {
  const z = zone(0);
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_WMARK_MIN, 257));
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_WMARK_MIN, 256));
});

test('watermark: ALLOC_HIGH halves the mark, ALLOC_HARDER then takes a quarter: GFP_ATOMIC stops at 3/8 MIN', () => {
  const z = zone(0);
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH, 129));
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH, 128));
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HARDER, 193));
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HARDER, 192));
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH | ALLOC_HARDER, 97));
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH | ALLOC_HARDER, 96));
});

test('watermark: the effective floors are MIN, 3/8 MIN and 0 for NO_WATERMARKS', () => {
  const z = zone(0);
  assert.is(effectiveFloor(z, ALLOC_WMARK_MIN), 256);
  assert.is(effectiveFloor(z, ALLOC_HIGH | ALLOC_HARDER), 96);
  assert.is(effectiveFloor(z, ALLOC_HARDER), 192);
  assert.is(effectiveFloor(z, ALLOC_NO_WATERMARKS | ALLOC_HIGH), 0);
});

test('watermark: pages_emerg and lowmem_reserve sit on top of every mark but not of NO_WATERMARKS', () => {
  const z = zone(0);
  z.pagesEmerg = 100;
  assert.is(effectiveFloor(z, ALLOC_WMARK_MIN), 356);
  assert.is(effectiveFloor(z, ALLOC_HIGH | ALLOC_HARDER), 196);
  assert.is(effectiveFloor(z, ALLOC_NO_WATERMARKS), 0);
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH | ALLOC_HARDER, 196));
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_HIGH | ALLOC_HARDER, 197));
  z.lowmemReserve = 4;
  assert.not.ok(zoneWatermarkOk(z, 0, 256, ALLOC_WMARK_MIN, 360));
  assert.ok(zoneWatermarkOk(z, 0, 256, ALLOC_WMARK_MIN, 361));
});

test('watermark: higher orders discount the free pages of lower orders and halve the mark per order', () => {
  // 300 free pages, all order 0: an order-1 request passes the first test (299 > 256) but no order-1 block exists
  const fragmented = zone(300);
  assert.not.ok(zoneWatermarkOk(fragmented, 1, 256, ALLOC_WMARK_MIN, 300));
  // 150 free order-1 blocks (300 pages): after discounting order 0 (none), 299 > 128 holds
  const z = zone(0);
  z.freeArea[1] = 150;
  assert.ok(zoneWatermarkOk(z, 1, 256, ALLOC_WMARK_MIN, 300));
  // the order itself counts: an order-2 request subtracts 3 pages before the first comparison
  assert.not.ok(zoneWatermarkOk(zone(259), 2, 256, ALLOC_WMARK_MIN, 259));
});

test('watermark: marks must be ordered', () => {
  throwsType(() => new Zone(10, { min: 5, low: 4, high: 6 }), InvalidArgument);
});

test.run();
