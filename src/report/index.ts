/**
 * report/: what pvnet shows people and tools: the pcap writer (Ethernet, virtual-time stamps), Vega-Lite charts
 * rendered headless to SVG, the lifecycle timeline, and the showcase report (`pvnet demo`, `pvnet report`).
 * Contract: reports only read results; nothing here changes a simulation.
 */

export { PcapWriter, readPcap, PCAP_MAGIC_NSEC, LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN } from './pcap.ts';
export { specToSvg } from './vega.ts';
export { timelineRows, timelineSpec, TIMELINE_STATES } from './timeline.ts';
export type { TimelineRow, TimelineState, TimelineOptions } from './timeline.ts';
export { runShowcase, STRATEGIES, TIMELINE_STRATEGIES, WORKLOAD_DESCRIPTION } from './showcase.ts';
export type { ShowcaseOptions, ShowcaseResults, StrategyRow } from './showcase.ts';
export { runWorkload, WORKLOAD_SIZES } from './workload.ts';
export type { WorkloadOptions, WorkloadResult, SizeRow } from './workload.ts';
export { terminalReport } from './terminal.ts';
export { REPORT_FILES, resultsJson } from './write.ts';
