/**
 * Every key (and so execution name) that `saga verify` starts begins so: its clean-up deletes these keys and no
 * other, and a stack that honours injected faults does not page for its deliberate failures.
 */
export const KEY_PREFIX = 'saga-verify';
