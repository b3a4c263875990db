/**
 * Conformance (e): the captures pvnet writes, read by Wireshark's tshark (Debian package tshark).
 *
 * Scenarios run with a capture (tx-basic and clone-storm in two strategies, and the showcase's mixed workload);
 * each capture is written to a file and read back by tshark. Checked: every frame decodes as Ethernet / IPv4
 * with UDP or TCP; no frame is malformed (no `_ws.malformed` field, no error in `-z expert`); tshark sees as
 * many frames as pvnet recorded, and each frame's length is the one pvnet recorded (readPcap of the same file)
 * and the frames add up to pvnet's own counters (bytes sent plus bytes received at the guests).
 */

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapWriter, readPcap } from '../../src/report/pcap.ts';
import { runWorkload } from '../../src/report/workload.ts';
import { scenarioByName } from '../../src/sim/scenarios/index.ts';
import type { Reporter } from './support.ts';

/** tshark's version line, or null when it is not installed. */
export function tsharkVersion(): string | null {
  const r = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0] ?? 'tshark';
}

interface Capture {
  name: string;
  bytes: Uint8Array;
  frames: number;
  /** What pvnet's counters say the frames add up to (bytes), and how many frames there must be. */
  expectedBytes: number;
  expectedFrames: number;
}

function captures(): Capture[] {
  const out: Capture[] = [];
  for (const [name, mode] of [['tx-basic', 'map'], ['tx-basic', 'zerocopy'], ['clone-storm', 'hybrid'], ['clone-storm', 'copy']] as const) {
    const pcap = new PcapWriter();
    const r = scenarioByName(name)!.run({ mode, seed: 1, knobs: {}, pcap: (t, f, off, len) => pcap.record(t, f, off, len) });
    const c = r.counters;
    // tx-basic: each frame once as netback delivers it and once as the other guest receives it.
    // clone-storm: the same, and the host side's floods into the bridge are recorded too: count frames only.
    const expectedBytes = name === 'tx-basic' ? Number(c['bytes']) + Number(c['bytesReceived']) : -1;
    out.push({ name: `${name} ${mode}`, bytes: pcap.toBytes(), frames: pcap.frames, expectedBytes, expectedFrames: Number(c['packets']) + Number(c['framesReceived']) });
  }
  const pcap = new PcapWriter();
  const w = runWorkload('hybrid', { perSize: 6, pcap: (t, f, off, len) => pcap.record(t, f, off, len) });
  out.push({ name: 'showcase workload hybrid', bytes: pcap.toBytes(), frames: pcap.frames, expectedBytes: -1, expectedFrames: w.packets + w.forwarded });
  return out;
}

/**
 * The payloads are pvnet's tag pattern (sim/world/frames.ts), not an application protocol, but Wireshark binds
 * the world's ports (sources 4000 + domid, destination 5000, the showcase's 7000) to application dissectors
 * (opsi on 4002, ip.access on 5000) that then call the pattern a malformed message. Those ports are decoded as
 * plain data, so the check judges what pvnet writes: Ethernet, IPv4, UDP and TCP.
 */
const NOT_APPLICATIONS = ['-d', 'tcp.port==4000-7000,data', '-d', 'udp.port==4000-7000,data'];

function tshark(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('tshark', [...NOT_APPLICATIONS, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // tshark warns on stderr when run as root; only the exit status and stdout matter.
  return { ok: !r.error && r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').split('\n').filter((l) => !/Running as user/.test(l)).join('\n') };
}

export function pcapConformance(rep: Reporter, tmp: string): void {
  for (const cap of captures()) {
    const file = join(tmp, `${cap.name.replace(/\W+/g, '-')}.pcap`);
    writeFileSync(file, cap.bytes);
    const mine = readPcap(cap.bytes);
    rep.check(`${cap.name}: pvnet recorded as many frames as its counters say`, cap.frames === cap.expectedFrames && mine.length === cap.frames,
      () => `${cap.frames} recorded, ${mine.length} read back, counters say ${cap.expectedFrames}`);
    const t = tshark(['-r', file, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.len', '-e', 'eth.type', '-e', 'ip.proto', '-e', '_ws.malformed']);
    if (!rep.check(`${cap.name}: tshark reads the file`, t.ok, () => t.err)) continue;
    const rows = t.out.split('\n').filter((l) => l !== '').map((l) => l.split(','));
    rep.check(`${cap.name}: tshark sees every frame`, rows.length === cap.frames, () => `tshark ${rows.length}, pvnet ${cap.frames}`);
    const notIp = rows.filter((r) => r[1] !== '0x0800' || (r[2] !== '17' && r[2] !== '6'));
    rep.check(`${cap.name}: every frame decodes as Ethernet / IPv4 / UDP or TCP`, notIp.length === 0,
      () => `${notIp.length} frame(s), first: ${notIp.slice(0, 3).map((r) => r.join(',')).join(' | ')}`);
    const malformed = rows.filter((r) => (r[3] ?? '') !== '');
    rep.check(`${cap.name}: no malformed frame`, malformed.length === 0, () => `${malformed.length} malformed`);
    const lenDiff = rows.findIndex((r, i) => Number(r[0]) !== mine[i]?.origLen);
    rep.check(`${cap.name}: every frame length is the one pvnet recorded`, lenDiff < 0,
      () => `frame ${lenDiff + 1}: tshark ${rows[lenDiff]?.[0]}, pvnet ${mine[lenDiff]?.origLen}`);
    if (cap.expectedBytes >= 0) {
      const total = rows.reduce((a, r) => a + Number(r[0]), 0);
      rep.check(`${cap.name}: the frames add up to the bytes sent and received`, total === cap.expectedBytes, () => `tshark ${total}, counters ${cap.expectedBytes}`);
    }
    const ex = tshark(['-r', file, '-q', '-z', 'expert,error']);
    const errors = ex.out.split('\n').filter((l) => /^\s*Error\b|Malformed/i.test(l));
    rep.check(`${cap.name}: tshark's expert info has no error`, ex.ok && errors.length === 0, () => (ex.ok ? errors.slice(0, 5).join('\n') : ex.err));
  }
}
