// Lambda entry point of every plain compensation (CancelHotel, CancelFlight, …): the step comes from the environment.
import { configFromEnvironment } from './config.ts';
import { cancelHandler, defaultClient } from './handlers.ts';

export const handler = cancelHandler({ config: configFromEnvironment(process.env), client: defaultClient() });
