// A step list module (`saga … --saga FILE`, a stack's `saga` setting): the trip as far as the dev-express stack, as
// Pulumi.dev-express.yaml sets it, deploys it within Express's five minutes (the whole trip while it fits).
import { tripSaga } from '../../saga.ts';
import { deployedPartOf, projectStackSettings } from './stacks.ts';

export const DEV_EXPRESS = 'dev-express';

export default deployedPartOf(tripSaga, projectStackSettings(DEV_EXPRESS));
