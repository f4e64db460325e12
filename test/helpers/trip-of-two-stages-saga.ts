// A step list module (`--saga FILE`, `--against FILE`): the trip, with a step added when it has a single stage
// (tripSagaOfTwoStagesOrMore), for the commands whose subject needs a stage after the first (a step removed or moved,
// a compensation owed before another), whatever the length of the trip's own step list.
import { tripSagaOfTwoStagesOrMore } from './saga-shapes.ts';

export default tripSagaOfTwoStagesOrMore;
