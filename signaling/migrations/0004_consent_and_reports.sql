-- Consent decisions (issue 6, SHR-1..8) as participants recorded them with
-- `consent_record`: `seq` numbers them from 0 in the order the server received
-- them (at most 1000 per session). `direction` is `incoming` when
-- `with_participant` asked `from_participant`, `outgoing` when
-- `from_participant` asked. Names are the ones the server knew at the time;
-- `text` is the decision as one English sentence.
CREATE TABLE consent_records (
    session_id       TEXT    NOT NULL REFERENCES sessions (session_id),
    seq              INTEGER NOT NULL,
    recorded_at      INTEGER NOT NULL,
    from_participant TEXT    NOT NULL,
    from_name        TEXT    NOT NULL,
    with_participant TEXT    NOT NULL,
    with_name        TEXT    NOT NULL,
    capability       TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    text             TEXT    NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- "End session and report" (X-5): participant `by_participant` reported
-- `about_participant` (`report_participant`); the first report of each pair.
CREATE TABLE participant_reports (
    session_id        TEXT    NOT NULL REFERENCES sessions (session_id),
    by_participant    TEXT    NOT NULL,
    by_name           TEXT    NOT NULL,
    about_participant TEXT    NOT NULL,
    about_name        TEXT    NOT NULL,
    reported_at       INTEGER NOT NULL,
    text              TEXT    NOT NULL,
    PRIMARY KEY (session_id, by_participant, about_participant)
);

-- The session's report flag: 1 once any participant reported another.
ALTER TABLE sessions ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
