-- CSR accounts. Names are unique regardless of case.
CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- One row per session (ADM-2). Times are Unix milliseconds.
CREATE TABLE sessions (
    session_id     TEXT    PRIMARY KEY,
    session_number TEXT    NOT NULL,
    session_type   TEXT,
    tracking_code  TEXT,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    end_reason     TEXT
);
CREATE INDEX sessions_by_start ON sessions (started_at);

-- Who took part in a session, and when.
CREATE TABLE participants (
    session_id     TEXT    NOT NULL REFERENCES sessions (session_id),
    participant_id TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    agent_id       INTEGER REFERENCES agents (id),
    joined_at      INTEGER NOT NULL,
    left_at        INTEGER,
    leave_reason   TEXT,
    PRIMARY KEY (session_id, participant_id)
);
