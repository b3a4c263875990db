/**
 * XenbusState (xen/include/public/io/xenbus.h): the state a front or back end publishes in its `state` key.
 */

export const XenbusStateUnknown = 0;
export const XenbusStateInitialising = 1;
/** The backend waits for the frontend's details (rings, channels). */
export const XenbusStateInitWait = 2;
export const XenbusStateInitialised = 3;
export const XenbusStateConnected = 4;
export const XenbusStateClosing = 5;
export const XenbusStateClosed = 6;
export const XenbusStateReconfiguring = 7;
export const XenbusStateReconfigured = 8;

export type XenbusState = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const NAMES = ['Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed',
  'Reconfiguring', 'Reconfigured'] as const;

/** "Connected" for 4; "invalid(<n>)" for a value outside the enum (a guest may write anything). */
export function xenbusStateName(state: number): string {
  return NAMES[state] ?? `invalid(${state})`;
}

/** Parse a `state` key's value as xenbus does: a decimal integer in 0..8, anything else is undefined. */
export function parseXenbusState(value: string | undefined): XenbusState | undefined {
  if (value === undefined || !/^[0-8]$/.test(value.trim())) return undefined;
  return Number(value.trim()) as XenbusState;
}
