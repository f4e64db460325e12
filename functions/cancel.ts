// The plain compensation's module (CancelHotel, CancelFlight, …); see book.ts.
export { cancelHandler as createHandler } from './handlers.ts';
