import { readFileSync } from 'node:fs';
import type { Trip } from '../../saga.ts';

/** The example trip of the README (examples/trip.json). */
export const exampleTrip: Trip = JSON.parse(readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8'));

/** The example trip under another id, so that tests sharing a table do not meet. */
export const tripWithId = (tripId: string, changes: Partial<Trip> = {}): Trip => ({ ...exampleTrip, trip_id: tripId, ...changes });
