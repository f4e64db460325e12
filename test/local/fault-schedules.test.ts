import { describeFaultSchedules, FAULT_SCHEDULES } from '../helpers/fault-schedules.ts';

// jest: heavy (500 fast-check schedules against dynalite): test/sequencer.js starts it first on a fresh clone.
// The first half of the random fault schedules (test/helpers/fault-schedules.ts): the halves are two files so that Jest
// runs them at once.
describeFaultSchedules(FAULT_SCHEDULES / 2);
