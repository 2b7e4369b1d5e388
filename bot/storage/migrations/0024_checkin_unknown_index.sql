-- Check-ins whose fate is unknown (their channel could not be searched after an interruption) are
-- looked for once more when their window ends; this finds them without reading every occurrence.
CREATE INDEX checkin_occurrences_unknown ON checkin_occurrences (closes_at) WHERE state = 'unknown' AND closed = 0;
