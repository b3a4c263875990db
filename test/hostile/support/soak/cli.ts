/**
 * `npm run soak`: several netfront guests at full rate, random strategies, taps, clones, forwarding,
 * reconnects, and a hostile guest that attacks, is disabled, dies mid-stream and comes back (soak.ts).
 *
 *   tsx test/hostile/support/soak/cli.ts [--seconds S] [--steps N] [--seed N] [--guests N]
 *
 * Defaults: 60 s, no step limit, a fresh seed (printed: pass it back with --seed to replay), 4 good guests.
 * Exit status 0 when every step's checks and the final audits passed, 1 otherwise.
 */
import { soak } from './soak.ts';

function num(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: not a number: ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return n;
}

const seconds = num('seconds', 60);
const steps = num('steps', Number.MAX_SAFE_INTEGER);
const seed = num('seed', (Date.now() ^ (process.pid << 16)) >>> 0);
const goodGuests = num('guests', 4);
console.log(`soak: seed ${seed}, ${goodGuests} good guests + 1 hostile, ${seconds} s`);
const r = soak({ seed, steps, seconds, goodGuests, log: (l) => console.log(l) });
const ok = r.failure === null && r.findings.length === 0;
console.log([
  `steps            ${r.steps} in ${(r.ms / 1000).toFixed(1)} s (${r.virtualMs} ms virtual), seed ${seed}`,
  `good guests      ${r.goodSent} packets sent, ${r.goodDelivered} reached dom0's stack (${r.goodDeliveredWhileHostileDown} while the hostile guest was disabled or dead), ${r.goodReceived} received; ${r.reconnects} reconnects`,
  `hostile guest    ${r.hostileSessions} sessions, ${r.hostileDisabled} fatal errors provoked, ${r.hostileDeaths} deaths mid-stream, ${r.hostilePackets} packets`,
  `dom0 stack       ${r.held} held a while, ${r.clones} tap clones, ${r.forwards} forwarded to another vif; at most ${r.maxForeignMappings} foreign mappings`,
  `result           ${ok ? 'clean: every step checked, audits clean' : 'FAILED'}`,
].join('\n'));
if (r.failure !== null) console.log(r.failure);
for (const f of r.findings) console.log(`- ${f}`);
process.exit(ok ? 0 : 1);
