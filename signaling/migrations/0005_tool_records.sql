-- Advanced file transfer and system information (issue 7, TOOL-5, TOOL-7,
-- ADM-2), as the customer's machine recorded them with `tool_record`: `seq`
-- numbers them from 0 in the order the server received them (at most 1000
-- per session, of which at most 20 carry a system report).
-- `from_participant` is the customer who sent the record, `with_participant`
-- the CSR; names are the ones the server knew at the time.
--
-- `what` is `file_access`, `transfer` or `system_info`. `outcome` is a
-- consent outcome (`allowed`, `denied`, ...) for `file_access` and
-- `system_info`, a transfer outcome (`denied`, `completed`, `cancelled`,
-- `failed`) for `transfer`. `direction` (`download`: customer to CSR,
-- `upload`: CSR to customer), `item`, `files` and `bytes` are set for
-- transfers only; `report_json` is the system report as JSON text, for
-- `system_info` records that carry one. `text` is the record as one English
-- sentence.
CREATE TABLE tool_records (
    session_id       TEXT    NOT NULL REFERENCES sessions (session_id),
    seq              INTEGER NOT NULL,
    recorded_at      INTEGER NOT NULL,
    from_participant TEXT    NOT NULL,
    from_name        TEXT    NOT NULL,
    with_participant TEXT    NOT NULL,
    with_name        TEXT    NOT NULL,
    what             TEXT    NOT NULL CHECK (what IN ('file_access', 'transfer', 'system_info')),
    outcome          TEXT    NOT NULL,
    direction        TEXT,
    item             TEXT,
    files            INTEGER,
    bytes            INTEGER,
    report_json      TEXT,
    text             TEXT    NOT NULL,
    PRIMARY KEY (session_id, seq)
);
