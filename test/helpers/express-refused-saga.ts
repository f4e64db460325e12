// A step list module (a stack's `saga` setting): the shortest saga of bookings whose worst case outruns Express's five
// minutes with the default bounds, which an EXPRESS stack of those settings refuses, whatever the trip's length.
import { DEFAULT_SETTINGS } from '../../infra/settings.ts';
import { sagaOfSize } from './saga-shapes.ts';
import { shortestRefusedSize } from './stacks.ts';

const EXPRESS_DEFAULTS = { ...DEFAULT_SETTINGS, stateMachineType: 'EXPRESS' } as const;

export default sagaOfSize(shortestRefusedSize(EXPRESS_DEFAULTS));
