// Lambda entry point of every plain booking action (BookHotel, BookFlight, …): the step comes from the environment.
import { configFromEnvironment } from './config.ts';
import { bookingHandler, defaultClient } from './handlers.ts';

export const handler = bookingHandler({ config: configFromEnvironment(process.env), client: defaultClient() });
