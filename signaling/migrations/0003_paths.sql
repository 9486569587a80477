-- The network path of each connection in a session (NET-2 visibility): the
-- selected ICE candidate pair participant `from_participant` reported for its
-- connection with `with_participant`, latest report only.
CREATE TABLE paths (
    session_id       TEXT    NOT NULL REFERENCES sessions (session_id),
    from_participant TEXT    NOT NULL,
    with_participant TEXT    NOT NULL,
    local_candidate  TEXT    NOT NULL,
    remote_candidate TEXT    NOT NULL,
    protocol         TEXT    NOT NULL,
    reported_at      INTEGER NOT NULL,
    PRIMARY KEY (session_id, from_participant, with_participant)
);
