/**
 * Every trip id (and so execution name) that `saga verify` starts begins so: its clean-up deletes these ids and no
 * other, and a stack that honours injected faults does not page for its deliberate failures.
 */
export const TRIP_PREFIX = 'saga-verify';
