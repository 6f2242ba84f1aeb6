/** Segment names and bounds (README "Segments"). */

/** Like a channel name, plus ":" (`plan:pro`, `beta.testers`). */
export const SEGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const SEGMENT_NAME_MESSAGE = 'a segment name: letters, digits, "_", ".", ":" or "-", up to 64';
/** Segments one notification may target. */
export const MAX_SEGMENTS_PER_NOTIFICATION = 10;
