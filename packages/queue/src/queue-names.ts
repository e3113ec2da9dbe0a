/** BullMQ queue names (their keys are `<QUEUE_PREFIX>:<name>:…`). */
export const GENERATION_QUEUE = 'generations';
